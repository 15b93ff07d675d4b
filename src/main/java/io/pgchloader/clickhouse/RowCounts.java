package io.pgchloader.clickhouse;

import io.pgchloader.postgres.SourceRow;

/**
 * How whoever feeds a {@link StreamInsert} counts its rows. The sink keeps the counts of the rows an INSERT
 * holds and hands them back only once ClickHouse has them, so a count never runs ahead of the data.
 */
public interface RowCounts {

    /** An empty count, for a batch or an INSERT of the stream. */
    Count newCount();

    /** ClickHouse holds every row of this count. */
    void shipped(Count rows);

    /** Rows of one stream: counted one by one into a batch, added up per INSERT. */
    interface Count {

        /** A row went into the batch. */
        void count(SourceRow row);

        /** One more batch in this count. */
        void batch();

        /** Adds the rows of a later count of the same stream. */
        void add(Count later);

        Count copy();

        long rows();
    }
}
