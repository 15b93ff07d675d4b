// The loader over JMX, with nothing but the JDK: lists every table's sync state, or steers one table route.
//
//   JMX_TARGET=loader-host:9010 JMX_USER=ops JMX_PASSWORD=... jshell scripts/jmx.jsh
//   ROUTE=sync-orders ACTION=stop JMX_TARGET=... JMX_USER=... JMX_PASSWORD=... jshell scripts/jmx.jsh
//
//   JMX_TLS=true jshell -R-Djavax.net.ssl.trustStore=loader-jmx.p12 -R-Djavax.net.ssl.trustStorePassword=... scripts/jmx.jsh
//     for a loader with JMX_TLS=true (the trust store holds its certificate; see docs/security.md)
//
// ACTION is one of Camel's route operations: stop, start, suspend, resume; it needs the operator login
// (JMX_USER). The read-only login (JMX_READONLY_USER) lists. See README, "JMX".
import javax.management.*;
import javax.management.remote.*;

String env(String name, String fallback) { String v = System.getenv(name); return v == null || v.isBlank() ? fallback : v; }

var environment = new java.util.HashMap<String, Object>(
        java.util.Map.of(JMXConnector.CREDENTIALS, new String[] {env("JMX_USER", ""), env("JMX_PASSWORD", "")}));
if (env("JMX_TLS", "false").equals("true")) {
    // the registry speaks TLS too; its certificate must be in the trust store given with -R-Djavax.net.ssl.trustStore=...
    environment.put("com.sun.jndi.rmi.factory.socket", new javax.rmi.ssl.SslRMIClientSocketFactory());
}
var connector = JMXConnectorFactory.connect(
        new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + env("JMX_TARGET", "localhost:9010") + "/jmxrmi"), environment);
var jmx = connector.getMBeanServerConnection();

if (!env("ACTION", "").isEmpty()) {
    var route = new ObjectName("org.apache.camel:context=pg-ch-loader,type=routes,name=" + ObjectName.quote(env("ROUTE", "")));
    jmx.invoke(route, env("ACTION", ""), null, null);
    System.out.println(env("ROUTE", "") + " " + env("ACTION", "") + ": now " + jmx.getAttribute(route, "State"));
}

for (var name : new java.util.TreeSet<>(jmx.queryNames(new ObjectName("io.pgchloader:type=TableSync,*"), null))) {
    var route = new ObjectName("org.apache.camel:context=" + name.getKeyProperty("context") + ",type=routes,name="
            + name.getKeyProperty("route"));
    System.out.printf("%s (%s): %s, last cycle %s succeeded=%s, rows created/updated %s/%s in total, lag %s s,"
                    + " watermarks created %s, updated %s, failed cycles %s%s%n",
            ObjectName.unquote(name.getKeyProperty("route")), jmx.getAttribute(name, "Table"), jmx.getAttribute(route, "State"),
            jmx.getAttribute(name, "LastCycleEnd"), jmx.getAttribute(name, "LastCycleSucceeded"),
            jmx.getAttribute(name, "RowsCreatedTotal"), jmx.getAttribute(name, "RowsUpdatedTotal"), jmx.getAttribute(name, "LagSeconds"),
            jmx.getAttribute(name, "CreatedWatermark"), jmx.getAttribute(name, "UpdatedWatermark"), jmx.getAttribute(name, "FailedCycles"),
            jmx.getAttribute(name, "LastError") == null ? "" : ", last error: " + jmx.getAttribute(name, "LastError"));
}
connector.close();
/exit
