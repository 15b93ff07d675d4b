/**
 * What every room may use and that uses nothing of the loader: quoting identifiers for both SQL dialects, reading a schedule in crontab or Quartz form,
 * the exception that stops a table with a message for its user, and the {@link Room}
 * declaration of these package-infos.
 */
@Room(mayUse = {})
package io.pgchloader.common;

