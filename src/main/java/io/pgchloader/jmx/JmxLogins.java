package io.pgchloader.jmx;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.management.remote.JMXAuthenticator;
import javax.management.remote.JMXPrincipal;
import javax.security.auth.Subject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The remote JMX logins: an operator and, optionally, a read-only user, each with its own password. A
 * successful login yields a read-only {@link Subject} holding the user's {@link JMXPrincipal} and its
 * {@link JmxRole}, which {@link RoleBasedMBeanServerForwarder} checks on every call.
 */
final class JmxLogins implements JMXAuthenticator {

    private static final Logger LOG = LoggerFactory.getLogger("io.pgchloader.loader");

    private record Account(byte[] user, byte[] password, JmxRole role) {
    }

    private final List<Account> accounts = new ArrayList<>();

    JmxLogins add(String user, String password, JmxRole role) {
        accounts.add(new Account(bytes(user), bytes(password), role));
        return this;
    }

    @Override
    public Subject authenticate(Object credentials) {
        if (!(credentials instanceof String[] pair) || pair.length != 2 || pair[0] == null || pair[1] == null) {
            LOG.warn("Refused a remote JMX connection without a user and password");
            throw new SecurityException("Authentication required: connect with a user and password");
        }
        byte[] user = bytes(pair[0]);
        byte[] password = bytes(pair[1]);
        JmxRole role = null;
        // every account is compared, in constant time, so the answer's timing tells no user name apart
        for (Account account : accounts) {
            boolean matches = MessageDigest.isEqual(account.user(), user) & MessageDigest.isEqual(account.password(), password);
            if (matches) {
                role = account.role();
            }
        }
        if (role == null) {
            // neither the attempted user nor the password: both may be a mistyped secret
            LOG.warn("Refused a remote JMX connection: wrong user or password");
            throw new SecurityException("Authentication failed: wrong user or password");
        }
        return new Subject(true, Set.of(new JMXPrincipal(pair[0]), role), Set.of(), Set.of());
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
