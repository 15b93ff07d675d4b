#!/usr/bin/env bash
# Installs, prints or removes the crontab lines that run one pg-ch-loader cycle on a schedule, and a
# nightly reconciliation (deleted rows, missing ones; see docs/deletes.md):
#
#   cd <repo> && java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:SharedArchiveFile=target/pg-ch-loader.jsa -jar target/pg-ch-loader.jar --once >> <log file> 2>&1
#   cd <repo> && java -XX:+UseSerialGC -jar target/pg-ch-loader.jar --repair >> <log file> 2>&1
#
# Usage:
#   scripts/cron_job_def.sh [SCHEDULE]            install for the current user (default "*/30 * * * *")
#   scripts/cron_job_def.sh --print [SCHEDULE]    only print the line (needs no crontab)
#   scripts/cron_job_def.sh --remove              remove the line again
#   scripts/cron_job_def.sh --archive             only write the class data sharing archive again (after a rebuild)
#
# SCHEDULE is the usual 5 cron fields (minute hour day-of-month month day-of-week), quoted as one
# argument. The --repair line's schedule: PG_CH_LOADER_REPAIR_SCHEDULE, by default "15 3 * * *" (03:15
# every night); set it empty for no --repair line. Installing is idempotent: the lines carry a marker
# comment, and previous lines with that marker are replaced, other crontab lines are kept. Build the jar first (mvn -B package -DskipTests);
# configuration comes from .env in the repo directory. Log file: PG_CH_LOADER_LOG, by default
# <repo>/logs/pg-ch-loader-cron.log. Java: the line names, by full path, the java found on PATH when
# this script runs (cron's own PATH is minimal); set JAVA=/path/to/bin/java to choose another.
# JVM options: PG_CH_LOADER_JAVA_OPTS, by default -XX:+UseSerialGC (the collector that costs a small
# heap least) and -XX:TieredStopAtLevel=1 (a run that mostly starts, syncs a few thousand rows and exits
# starts in about half the time without the optimizing compiler; a big backfill is ~10 % slower).
# Class data sharing: installing also writes target/pg-ch-loader.jsa, an archive of the classes a run
# loads, from one --plan (it checks the databases and writes nothing to them), which the --once line maps
# instead of loading and verifying those classes again: a start about a third cheaper. It matches only the
# jar it was made from: after rebuilding the jar, run this script again (or with --archive); until then
# each run logs one warning from the JVM and starts without it. PG_CH_LOADER_CDS=off leaves it out.
# docs/performance.md.
#
# Exit codes: 0 done, 2 bad arguments or crontab not installed, other: crontab failed.

set -euo pipefail

readonly MANAGED="(managed by scripts/cron_job_def.sh)"
readonly MARKER="# pg-ch-loader --once $MANAGED"
readonly REPAIR_MARKER="# pg-ch-loader --repair $MANAGED"
readonly DEFAULT_SCHEDULE="*/30 * * * *"
readonly DEFAULT_REPAIR_SCHEDULE="15 3 * * *"

usage() {
    sed -n '2,/^# Exit codes/p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
    echo "cron_job_def.sh: $*" >&2
    exit 2
}

# A cron schedule: exactly 5 fields, each made of digits, names (jan, mon), * , - / only.
# (@daily and friends are not accepted: give the 5 fields, e.g. "0 0 * * *".)
validate_schedule() {
    local schedule=$1 field
    local -a fields
    read -r -a fields <<<"$schedule"
    if [[ ${#fields[@]} -ne 5 ]]; then
        die "schedule \"$schedule\" has ${#fields[@]} field(s), expected 5: minute hour day-of-month month day-of-week, e.g. \"$DEFAULT_SCHEDULE\""
    fi
    for field in "${fields[@]}"; do
        if [[ ! $field =~ ^[A-Za-z0-9*,/-]+$ ]]; then
            die "schedule field \"$field\" is not a cron field (digits, names, * , - / only), in \"$schedule\""
        fi
    done
}

require_crontab() {
    command -v crontab >/dev/null 2>&1 || die "crontab not found: install cron (e.g. apt-get install cron)"
}

# The current crontab without our line; empty when the user has none yet.
current_without_ours() {
    local existing
    existing=$(crontab -l 2>/dev/null) || existing=""
    if [[ -n $existing ]]; then
        grep -vF -- "$MANAGED" <<<"$existing" || true
    fi
}

# Quotes a word for /bin/sh, which is what cron runs the line with (printf %q may produce
# bash-only $'...' quoting).
sh_quote() {
    if [[ $1 =~ ^[A-Za-z0-9_./:+=@-]+$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}

install_crontab() {
    # crontab(1) reads the new table from standard input ("-")
    crontab -
}

mode=install
case "${1:-}" in
    -h | --help)
        usage
        exit 0
        ;;
    --print)
        mode=print
        shift
        ;;
    --remove)
        mode=remove
        shift
        [[ $# -eq 0 ]] || die "--remove takes no schedule (got: $*)"
        ;;
    --archive)
        mode=archive
        shift
        [[ $# -eq 0 ]] || die "--archive takes no schedule (got: $*)"
        ;;
    -*)
        die "unknown option \"$1\"; use --print, --remove, --archive or --help"
        ;;
esac

[[ $# -le 1 ]] || die "give the schedule as ONE quoted argument, e.g. '$DEFAULT_SCHEDULE' (got $# arguments)"
schedule=${1:-$DEFAULT_SCHEDULE}
validate_schedule "$schedule"
# normalise runs of blanks to one space
read -r -a fields <<<"$schedule"
schedule="${fields[*]}"

repo_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
log_file=${PG_CH_LOADER_LOG:-$repo_dir/logs/pg-ch-loader-cron.log}
# cron runs with a minimal PATH: record the java found now, by its full path
java_cmd=${JAVA:-$(command -v java || echo java)}

# %-signs are special in crontab commands (they end the command); paths with them are refused.
for value in "$repo_dir" "$log_file" "$java_cmd"; do
    [[ $value != *%* ]] || die "\"$value\" contains %, which crontab treats as a newline: use another path"
done

# The marker ends the line as a shell comment: cron hands the whole command to /bin/sh, which ignores it.
java_opts=${PG_CH_LOADER_JAVA_OPTS--XX:+UseSerialGC -XX:TieredStopAtLevel=1}
readonly ARCHIVE=target/pg-ch-loader.jsa
cds=${PG_CH_LOADER_CDS:-on}
[[ $cds == on || $cds == off ]] || die "PG_CH_LOADER_CDS is \"$cds\": write on (the default) or off"
once_opts=$java_opts
if [[ $cds == on ]]; then
    once_opts="$java_opts -XX:SharedArchiveFile=$ARCHIVE"
fi

# One --plan with -XX:ArchiveClassesAtExit: the JVM writes the archive when it exits, whatever the exit
# code (a database that cannot be reached only means fewer classes are in it).
write_archive() {
    [[ -f $repo_dir/target/pg-ch-loader.jar ]] || {
        echo "cron_job_def.sh: note: no class data sharing archive: $repo_dir/target/pg-ch-loader.jar does not exist yet" >&2
        return 0
    }
    rm -f "$repo_dir/$ARCHIVE"
    # shellcheck disable=SC2086 # the options are words on purpose
    (cd "$repo_dir" && "$java_cmd" $java_opts -XX:ArchiveClassesAtExit=$ARCHIVE -jar target/pg-ch-loader.jar --plan \
        >/dev/null 2>&1) || true
    if [[ -f $repo_dir/$ARCHIVE ]]; then
        echo "Class data sharing archive: $repo_dir/$ARCHIVE ($(( $(stat -c %s "$repo_dir/$ARCHIVE") / 1048576 )) MB); write it again after rebuilding the jar (--archive)."
    else
        echo "cron_job_def.sh: note: the JVM wrote no class data sharing archive; the --once line runs without it" >&2
    fi
}
line="$schedule cd $(sh_quote "$repo_dir") && $(sh_quote "$java_cmd") $once_opts -jar target/pg-ch-loader.jar --once >> $(sh_quote "$log_file") 2>&1 $MARKER"
# a reconciliation reads whole tables: the optimizing compiler pays off, so only the collector is chosen
repair_schedule=${PG_CH_LOADER_REPAIR_SCHEDULE-$DEFAULT_REPAIR_SCHEDULE}
if [[ -n $repair_schedule ]]; then
    validate_schedule "$repair_schedule"
    read -r -a fields <<<"$repair_schedule"
    repair_opts=${PG_CH_LOADER_JAVA_OPTS--XX:+UseSerialGC}
    line="$line
${fields[*]} cd $(sh_quote "$repo_dir") && $(sh_quote "$java_cmd") $repair_opts -jar target/pg-ch-loader.jar --repair >> $(sh_quote "$log_file") 2>&1 $REPAIR_MARKER"
fi

case $mode in
    print)
        echo "$line"
        ;;
    install)
        require_crontab
        [[ -f $repo_dir/target/pg-ch-loader.jar ]] \
            || echo "cron_job_def.sh: note: $repo_dir/target/pg-ch-loader.jar does not exist yet: build it with mvn -B package -DskipTests" >&2
        mkdir -p "$(dirname "$log_file")"
        { current_without_ours; echo "$line"; } | install_crontab
        echo "Installed for user $(id -un):"
        echo "$line"
        if [[ $cds == on ]]; then
            write_archive
        fi
        ;;
    archive)
        [[ $cds == on ]] || die "PG_CH_LOADER_CDS is off: no archive to write"
        write_archive
        ;;
    remove)
        require_crontab
        existing=$(crontab -l 2>/dev/null) || existing=""
        if grep -qF -- "$MANAGED" <<<"$existing"; then
            remaining=$(current_without_ours)
            if [[ -n $remaining ]]; then
                echo "$remaining" | install_crontab
            else
                crontab -r
            fi
            echo "Removed the pg-ch-loader lines from the crontab of $(id -un)."
        else
            echo "No pg-ch-loader lines in the crontab of $(id -un): nothing to remove."
        fi
        ;;
esac
