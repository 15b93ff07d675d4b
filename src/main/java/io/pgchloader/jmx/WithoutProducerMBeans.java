package io.pgchloader.jmx;

import org.apache.camel.CamelContext;
import org.apache.camel.Producer;
import org.apache.camel.management.DefaultManagementObjectStrategy;

/**
 * Camel's MBeans without one per producer: every table route has seven (each {@code to} step), each a
 * model MBean of some 20 KB, which with thousands of tables filled the heap before the routes had even
 * started. Nothing of ours uses them, and remote JMX refuses their operations anyway.
 */
public final class WithoutProducerMBeans extends DefaultManagementObjectStrategy {

    @Override
    public Object getManagedObjectForProducer(CamelContext context, Producer producer) {
        // null: Camel leaves the producer out of JMX
        return null;
    }
}
