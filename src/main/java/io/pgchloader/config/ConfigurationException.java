package io.pgchloader.config;

/** Bad configuration: the message is the one line the user sees, naming what is wrong and how to fix it. */
public class ConfigurationException extends RuntimeException {

    public ConfigurationException(String message) {
        super(message);
    }
}
