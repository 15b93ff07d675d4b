package io.pgchloader.common;

/** A table cannot be synced as configured; the message names what is wrong and how to fix it. */
public class SyncException extends RuntimeException {

    public SyncException(String message) {
        super(message);
    }

    public SyncException(String message, Throwable cause) {
        super(message, cause);
    }
}
