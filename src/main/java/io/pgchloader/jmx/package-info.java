/**
 * JMX: the TableSync MBeans over the cycle's status board, and remote JMX with its logins and the
 * allow-list of what each role may do.
 */
@Room(mayUse = {"app", "common", "config", "cycle", "postgres"})
package io.pgchloader.jmx;

import io.pgchloader.common.Room;
