package io.pgchloader.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The validated settings. Loading checks everything up front so that a bad value stops the program
 * before it connects anywhere, with one line that names the variable.
 */
public final class Settings {

    /** What may follow the closing quote of a quoted .env value. */
    private static final Pattern TRAILING_COMMENT = Pattern.compile("(\\s+#.*)?");

    private final Map<Setting, String> values;

    private Settings(Map<Setting, String> values) {
        this.values = values;
    }

    /** Reads the process environment and {@code .env} in the working directory (the environment wins). */
    public static Settings load() {
        return from(System.getenv(), Path.of(".env"));
    }

    public static Settings from(Map<String, String> environment, Path dotEnv) {
        Map<String, String> merged = new LinkedHashMap<>(readDotEnv(dotEnv));
        merged.putAll(environment);
        return of(merged);
    }

    /**
     * Validates the given name/value pairs; unknown names are ignored, as in any environment. Every
     * problem is named in one message, so a new installation is fixed in one round, not one per setting.
     */
    public static Settings of(Map<String, String> raw) {
        Map<Setting, String> values = new EnumMap<>(Setting.class);
        List<String> problems = new ArrayList<>();
        for (Setting setting : Setting.values()) {
            String value = raw.get(setting.name());
            if (value == null || (value.isBlank() && !setting.secret())) {
                if (setting.required()) {
                    problems.add(setting.name() + " is not set: " + setting.meaning()
                            + " Set it in the environment or in .env (see .env.example).");
                    continue;
                }
                value = setting.defaultValue();
            }
            try {
                values.put(setting, check(setting, setting.secret() ? value : value.trim()));
            } catch (ConfigurationException e) {
                problems.add(e.getMessage());
            }
        }
        // a password of spaces only is as good as none (and is what an unfilled template leaves behind)
        // a setting that failed its own check is already named above; these look only at valid ones
        String jmxPort = values.getOrDefault(Setting.JMX_PORT, "");
        if (!jmxPort.isEmpty() && (values.get(Setting.JMX_USER).isEmpty() || values.get(Setting.JMX_PASSWORD).isBlank())) {
            problems.add("JMX_PORT is set, but remote JMX needs a login: set JMX_USER and JMX_PASSWORD"
                    + " too; a password of spaces only counts as none (or unset JMX_PORT to keep JMX local).");
        }
        String readOnlyUser = values.get(Setting.JMX_READONLY_USER);
        if (readOnlyUser.isEmpty() != values.get(Setting.JMX_READONLY_PASSWORD).isBlank()) {
            problems.add("A read-only remote JMX login needs both JMX_READONLY_USER and"
                    + " JMX_READONLY_PASSWORD (not of spaces only): set the missing one, or unset both.");
        }
        if ("true".equals(values.get(Setting.JMX_TLS)) && !jmxPort.isEmpty()
                && !Files.isRegularFile(Path.of(values.getOrDefault(Setting.JMX_KEYSTORE, "")))) {
            problems.add("JMX_TLS is true, but JMX_KEYSTORE (\"" + values.get(Setting.JMX_KEYSTORE)
                    + "\") is no file: set it to the keystore (PKCS12 or JKS) with the loader's key and certificate, and"
                    + " JMX_KEYSTORE_PASSWORD to its password.");
        }
        if (!readOnlyUser.isEmpty() && readOnlyUser.equals(values.get(Setting.JMX_USER))) {
            problems.add("JMX_READONLY_USER is the same user as JMX_USER: give the read-only login a"
                    + " name of its own.");
        }
        if (!values.get(Setting.CLUSTER_LOCK_DIR).isBlank() && !values.get(Setting.CLUSTER_ZOOKEEPER).isBlank()) {
            problems.add("CLUSTER_LOCK_DIR and CLUSTER_ZOOKEEPER are both set: keep one (CLUSTER_ZOOKEEPER for loaders"
                    + " on several hosts, CLUSTER_LOCK_DIR for loaders on one host).");
        }
        if (problems.size() == 1) {
            throw new ConfigurationException(problems.get(0));
        }
        if (!problems.isEmpty()) {
            StringBuilder message = new StringBuilder(problems.size() + " settings need fixing:");
            for (int i = 0; i < problems.size(); i++) {
                message.append(' ').append(i + 1).append(") ").append(problems.get(i));
            }
            throw new ConfigurationException(message.toString());
        }
        return new Settings(values);
    }

    private static String check(Setting setting, String value) {
        if (value.isEmpty() && "".equals(setting.defaultValue())) {
            // an optional setting whose default is "nothing" (JMX_PORT, JMX_HOST) may stay empty
            return value;
        }
        switch (setting.kind()) {
            case PORT -> {
                int port = parseInt(value);
                if (port < 1 || port > 65535) {
                    throw invalid(setting, value, "a TCP port number from 1 to 65535");
                }
            }
            case PORT_OR_ZERO -> {
                int port = parseInt(value);
                if (port < 0 || port > 65535) {
                    throw invalid(setting, value, "a TCP port number from 1 to 65535, or 0 to turn it off");
                }
            }
            case POSITIVE_INT -> {
                if (parseInt(value) < 1) {
                    throw invalid(setting, value, "a whole number of at least 1");
                }
            }
            case HOST -> {
                if (!value.matches("[A-Za-z0-9._:\\[\\]-]+")) {
                    throw invalid(setting, value, "a host name or IP address, without scheme or port");
                }
            }
            case DIRECTORY -> {
                Path dir = Path.of(value);
                if (!Files.isDirectory(dir)) {
                    throw new ConfigurationException(setting.name() + " points at \"" + value
                            + "\", which is not a directory: set it to the folder that holds the YAML routes.");
                }
                try (Stream<Path> files = Files.list(dir)) {
                    if (files.noneMatch(f -> f.toString().endsWith(".yaml"))) {
                        throw new ConfigurationException(setting.name() + " points at \"" + value
                                + "\", which holds no *.yaml route file: add the route template and a templatedRoute per table.");
                    }
                } catch (IOException e) {
                    throw new ConfigurationException(setting.name() + " points at \"" + value
                            + "\", which cannot be read: " + e.getMessage());
                }
            }
            case NON_NEGATIVE_INT -> {
                if (parseInt(value) < 0) {
                    throw invalid(setting, value, "a whole number of at least 0");
                }
            }
            case ZONE -> {
                try {
                    ZoneId.of(value);
                } catch (DateTimeException e) {
                    throw invalid(setting, value, "a time zone name such as UTC or Europe/Berlin");
                }
            }
            case LOG_LEVEL -> {
                if (!List.of("ERROR", "WARN", "INFO", "DEBUG", "TRACE").contains(value.toUpperCase(Locale.ROOT))) {
                    throw invalid(setting, value, "one of ERROR, WARN, INFO, DEBUG, TRACE");
                }
            }
            case DETAIL_LEVEL -> {
                if (!List.of("none", "full").contains(value)) {
                    throw invalid(setting, value, "none or full");
                }
            }
            case BOOLEAN -> {
                if (!List.of("true", "false").contains(value)) {
                    throw invalid(setting, value, "true or false");
                }
            }
            case TEXT, SECRET -> {
                // any text is acceptable; emptiness was decided above
            }
        }
        return value;
    }

    private static int parseInt(String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            return Integer.MIN_VALUE;
        }
    }

    private static ConfigurationException invalid(Setting setting, String value, String expected) {
        return new ConfigurationException(setting.name() + " must be " + expected + ", but is \"" + shown(value)
                + "\". Fix it in the environment or in .env.");
    }

    /** A value as it may be shown: a URL pasted where a host belongs can carry credentials before '@'. */
    private static String shown(String value) {
        int at = value.lastIndexOf('@');
        return at < 0 ? value : "***" + value.substring(at);
    }

    /**
     * Parses a dotenv file: {@code KEY=VALUE} lines, {@code #} comments, an optional {@code export }
     * prefix and optional single or double quotes around the value. A missing file is no error. Public for
     * the seed populator, which needs the POSTGRES_* settings without the rest of the loader's.
     */
    public static Map<String, String> readDotEnv(Path file) {
        Map<String, String> result = new LinkedHashMap<>();
        if (!Files.exists(file)) {
            return result;
        }
        if (!Files.isRegularFile(file)) {
            // a bind mount of a missing file makes a directory; ignoring it would hide every setting meant for it
            throw new ConfigurationException(".env in " + file.toAbsolutePath().getParent() + " is not a file (a directory?):"
                    + " replace it with a file of NAME=value lines, or remove it.");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigurationException(".env cannot be read (" + e.getMessage() + "): fix its permissions or remove it.");
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("export ")) {
                line = line.substring(7).strip();
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new ConfigurationException(".env line " + (i + 1) + " is not of the form NAME=value: fix or remove it.");
            }
            String name = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            if (value.startsWith("\"") || value.startsWith("'")) {
                value = unquote(value, name, i + 1);
            } else {
                int comment = value.indexOf(" #");
                if (comment >= 0) {
                    value = value.substring(0, comment).strip();
                }
            }
            result.put(name, value);
        }
        return result;
    }

    /**
     * The text between the opening quote and the last matching quote that only a {@code #} comment follows,
     * so that a quoted value may hold quotes and {@code #} itself. The value is never shown: it may be a password.
     */
    private static String unquote(String value, String name, int lineNumber) {
        char quote = value.charAt(0);
        for (int close = value.lastIndexOf(quote); close > 0; close = value.lastIndexOf(quote, close - 1)) {
            if (TRAILING_COMMENT.matcher(value.substring(close + 1)).matches()) {
                return value.substring(1, close);
            }
        }
        throw new ConfigurationException(".env line " + lineNumber + " (" + name + "): the quoted value has no closing "
                + quote + " that ends it (only a # comment may follow): fix the quotes.");
    }

    public String get(Setting setting) {
        return values.get(setting);
    }

    public int getInt(Setting setting) {
        return Integer.parseInt(values.get(setting));
    }

    /**
     * The text with every configured password replaced by {@code ******}, for messages that leave the
     * process through other channels than the log (JMX attributes), where a driver might have quoted one.
     */
    public String mask(String text) {
        if (text == null) {
            return null;
        }
        String masked = text;
        for (Map.Entry<Setting, String> e : values.entrySet()) {
            if (e.getKey().secret() && e.getValue().length() >= 3) {
                masked = masked.replace(e.getValue(), "******");
            }
        }
        return masked;
    }

    /** Name=value lines for diagnostics, secrets masked. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        values.forEach((k, v) -> sb.append(k).append('=').append(k.secret() && !v.isEmpty() ? "******" : v).append(' '));
        return sb.toString().trim();
    }
}
