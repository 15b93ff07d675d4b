package io.pgchloader.common;

import static java.lang.annotation.ElementType.PACKAGE;
import static java.lang.annotation.RetentionPolicy.RUNTIME;

import java.lang.annotation.Documented;
import java.lang.annotation.Retention;
import java.lang.annotation.Target;

/**
 * What a package of the loader may use of the others, declared in its {@code package-info.java} and
 * enforced by the architecture test, so the layout is written down once, beside the code it describes.
 */
@Documented
@Retention(RUNTIME)
@Target(PACKAGE)
public @interface Room {

    /** The loader's packages this one may import, by their last name ({@code "app"} for io.pgchloader itself). */
    String[] mayUse();
}
