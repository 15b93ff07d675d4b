package io.pgchloader;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.slf4j.LoggerFactory;

/**
 * The loader's logging, set up in code rather than from a {@code logback.xml}: reading the XML loaded about
 * 500 classes (an XML parser and Joran's model) and was the largest single cost of a {@code --once} that
 * finds nothing to do. Found by logback through {@code META-INF/services}. An operator's own file still
 * wins: with {@code -Dlogback.configurationFile=…} this steps aside.
 *
 * <p>The format is the seed's, {@code YYYY-MM-DD HH:MM:SS | LEVEL | MODULE | MESSAGE}. The loader's own
 * lines log at {@code LOG_LEVEL}; every library (Camel, Quartz, drivers, pools, HTTP clients) stays at WARN,
 * since at DEBUG some of them would log credentials (the HTTP client logs Authorization headers).
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class LogSetup extends ContextAwareBase implements Configurator {

    static final String PATTERN = "%d{yyyy-MM-dd HH:mm:ss} | %-5level | %logger{0} | %msg%n";
    private static final String OWN = "io.pgchloader";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName("CONSOLE");
        console.setEncoder(encoder);
        console.start();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.WARN);
        root.addAppender(console);
        context.getLogger(OWN).setLevel(Level.INFO);
        // a ZooKeeper client warns with a stack trace every second while the ensemble is away; the loader's own
        // cluster lines say once that the connection went and once that it came back
        context.getLogger("org.apache.zookeeper").setLevel(Level.ERROR);
        context.getLogger("org.apache.curator").setLevel(Level.ERROR);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** The level of the loader's own lines, once the settings (LOG_LEVEL) are valid. */
    static void ownLevel(String level) {
        if (LoggerFactory.getLogger(OWN) instanceof Logger own) {
            own.setLevel(Level.toLevel(level));
        }
    }
}
