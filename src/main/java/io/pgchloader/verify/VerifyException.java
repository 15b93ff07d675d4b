package io.pgchloader.verify;

/** A table that cannot be verified as configured: the message says why and what to change. */
class VerifyException extends RuntimeException {

    VerifyException(String message) {
        super(message);
    }
}
