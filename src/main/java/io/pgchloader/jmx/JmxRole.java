package io.pgchloader.jmx;

import java.security.Principal;

/**
 * What a remote JMX login may do; see {@link JmxAccessPolicy} for the exact rights. A principal of the
 * authenticated {@code Subject}, so that every call on the connector can be checked against it.
 */
public enum JmxRole implements Principal {

    /** Reads attributes (except those that may hold a secret); changes nothing. */
    READ_ONLY("read-only"),

    /** The read-only rights, plus the table routes' lifecycle and the loader's own MBeans. */
    OPERATOR("operator");

    private final String label;

    JmxRole(String label) {
        this.label = label;
    }

    @Override
    public String getName() {
        return label;
    }
}
