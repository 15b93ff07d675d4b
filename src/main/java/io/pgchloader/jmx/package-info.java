/**
 * JMX: the TableSync MBeans over the cycle's status board, the CdcTable MBeans over the CDC stream's status,
 * and remote JMX with its logins and the allow-list of what each role may do.
 */
@Room(mayUse = {"app", "common", "config", "cycle", "postgres", "cdc"})
package io.pgchloader.jmx;

import io.pgchloader.common.Room;
