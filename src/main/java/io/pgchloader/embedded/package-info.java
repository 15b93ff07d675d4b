/**
 * Embedded PostgreSQL and ClickHouse for {@code --demo} and the tests: real servers started on this machine.
 */
@Room(mayUse = {"common"})
package io.pgchloader.embedded;

import io.pgchloader.common.Room;
