package io.pgchloader.support;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.apache.zookeeper.server.embedded.ZooKeeperServerEmbedded;
import org.apache.zookeeper.server.embedded.ExitHandler;

/**
 * A real standalone ZooKeeper server (Apache ZooKeeper's own, over its normal protocol), in this JVM, on a
 * port of its own and a data folder that survives {@link #restart()}: a restart keeps the sessions that
 * have not timed out, as a production ensemble does.
 */
public final class ZooKeeperServer implements AutoCloseable {

    private final Path dataDir;
    private final int port;
    private ZooKeeperServerEmbedded server;

    private ZooKeeperServer(Path dataDir, int port) {
        this.dataDir = dataDir;
        this.port = port;
    }

    public static ZooKeeperServer start(Path dataDir) throws Exception {
        ZooKeeperServer zooKeeper = new ZooKeeperServer(Files.createDirectories(dataDir), Http.freePort());
        zooKeeper.startServer();
        return zooKeeper;
    }

    /** What CLUSTER_ZOOKEEPER takes. */
    public String connectString() {
        return "127.0.0.1:" + port;
    }

    /** Stops the server and starts it again on the same port and data. */
    public void restart() throws Exception {
        server.close();
        startServer();
    }

    public void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    private void startServer() throws Exception {
        Properties config = new Properties();
        config.setProperty("clientPort", Integer.toString(port));
        config.setProperty("clientPortAddress", "127.0.0.1");
        config.setProperty("dataDir", dataDir.resolve("data").toString());
        config.setProperty("tickTime", "1000");
        config.setProperty("admin.enableServer", "false");
        config.setProperty("4lw.commands.whitelist", "ruok");
        server = ZooKeeperServerEmbedded.builder()
                .baseDir(dataDir)
                .configuration(config)
                .exitHandler(ExitHandler.LOG_ONLY)
                .build();
        server.start(30_000);
    }

    @Override
    public void close() {
        stop();
    }
}
