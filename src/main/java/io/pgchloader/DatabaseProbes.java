package io.pgchloader;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;

/**
 * The start-up check's {@code SELECT 1} on each database, begun on a thread of its own as soon as the pools
 * exist. The first connection and query load and initialise most of both drivers (the ClickHouse client's
 * HTTP stack above all), and on a machine with a second core that overlaps Camel's start instead of
 * following it, which every cron run pays. The first answer of each is the early one; later checks ask
 * again.
 */
final class DatabaseProbes {

    private final DataSource postgres;
    private final DataSource clickHouse;
    private final CompletableFuture<Optional<SQLException>> earlyPostgres;
    private final CompletableFuture<Optional<SQLException>> earlyClickHouse;
    private final AtomicBoolean postgresTaken = new AtomicBoolean();
    private final AtomicBoolean clickHouseTaken = new AtomicBoolean();

    private DatabaseProbes(DataSource postgres, DataSource clickHouse) {
        this.postgres = postgres;
        this.clickHouse = clickHouse;
        ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "startup-probe");
            t.setDaemon(true);
            return t;
        });
        earlyPostgres = CompletableFuture.supplyAsync(() -> Optional.ofNullable(probe(postgres)), thread);
        earlyClickHouse = CompletableFuture.supplyAsync(() -> Optional.ofNullable(probe(clickHouse)), thread);
        thread.shutdown();
    }

    static DatabaseProbes start(DataSource postgres, DataSource clickHouse) {
        return new DatabaseProbes(postgres, clickHouse);
    }

    /** PostgreSQL's answer: null when it answered, else why not. */
    SQLException postgres() {
        return postgresTaken.compareAndSet(false, true) ? earlyPostgres.join().orElse(null) : probe(postgres);
    }

    /** ClickHouse's answer, as {@link #postgres()}. */
    SQLException clickHouse() {
        return clickHouseTaken.compareAndSet(false, true) ? earlyClickHouse.join().orElse(null) : probe(clickHouse);
    }

    private static SQLException probe(DataSource dataSource) {
        try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
            statement.execute("SELECT 1");
            if (!connection.getAutoCommit()) {
                connection.rollback();
            }
            return null;
        } catch (SQLException e) {
            return e;
        }
    }
}
