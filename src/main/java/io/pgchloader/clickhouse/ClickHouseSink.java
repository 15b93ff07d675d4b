package io.pgchloader.clickhouse;

import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * The data source of the camel-sql producer that inserts into ClickHouse: the ClickHouse pool, except
 * that an {@code INSERT ... FORMAT RowBinaryWithNamesAndTypes} is prepared as a {@link RowBinaryInsert}.
 * Everything else (and every other use of the pool) is the official driver as it is.
 */
public final class ClickHouseSink implements DataSource {

    private final DataSource clickHouse;

    public ClickHouseSink(DataSource clickHouse) {
        this.clickHouse = clickHouse;
    }

    @Override
    public Connection getConnection() throws SQLException {
        return sinkConnection(clickHouse.getConnection());
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return sinkConnection(clickHouse.getConnection(username, password));
    }

    private static Connection sinkConnection(Connection pooled) {
        return (Connection) Proxy.newProxyInstance(ClickHouseSink.class.getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("prepareStatement") && args.length == 1
                            && RowBinaryInsert.handles((String) args[0])) {
                        return RowBinaryInsert.prepare((Connection) proxy, pooled, (String) args[0]);
                    }
                    try {
                        return method.invoke(pooled, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return clickHouse.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        clickHouse.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        clickHouse.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return clickHouse.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return clickHouse.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> type) throws SQLException {
        return clickHouse.unwrap(type);
    }

    @Override
    public boolean isWrapperFor(Class<?> type) throws SQLException {
        return clickHouse.isWrapperFor(type);
    }
}
