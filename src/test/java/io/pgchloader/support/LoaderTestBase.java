package io.pgchloader.support;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every loader test has: a temporary folder for its routes, the in-process loader it may start
 * and a loader process it may run, all stopped after each test.
 */
public abstract class LoaderTestBase {

    @TempDir
    protected Path tmp;

    protected LoaderFixture loader;
    protected LoaderProcess process;

    @AfterEach
    void stopLoader() throws Exception {
        if (process != null) {
            process.close();
        }
        if (loader != null) {
            loader.close();
        }
    }
}
