package ai.djl.nupes.autograd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Arithmetic between an array and a number that autograd can record safely.
 *
 * <p>DJL's PyTorch engine turns the number of {@code x.mul(0.25f)} (and {@code div}, {@code pow},
 * {@code maximum}, {@code minimum}) into a scalar tensor wrapping a Java direct buffer, closes it at
 * once, and autograd keeps that tensor for the backward pass: after a garbage collection the
 * backward pass reads whatever memory now lies there. The scalars made here live in engine-owned
 * memory ({@code full}), in the array's manager, so the backward pass always reads the number.
 * {@code add}/{@code sub} with a number are safe (their backward keeps nothing) and {@code clip}
 * passes its bounds to the engine as values.
 */
public final class Scalars {

    private Scalars() {}

    /**
     * A 0-d array holding {@code value}, of {@code like}'s data type, in {@code like}'s manager.
     *
     * @param like the array the scalar is combined with
     * @param value the value
     * @return the scalar
     */
    public static NDArray of(NDArray like, float value) {
        return like.getManager().full(new Shape(), value, like.getDataType());
    }

    /**
     * {@code x · value}.
     *
     * @param x the array
     * @param value the factor
     * @return the product
     */
    public static NDArray mul(NDArray x, float value) {
        return x.mul(of(x, value));
    }

    /**
     * {@code x / value}.
     *
     * @param x the array
     * @param value the divisor
     * @return the quotient
     */
    public static NDArray div(NDArray x, float value) {
        return x.div(of(x, value));
    }

    /**
     * {@code x ^ value}.
     *
     * @param x the array
     * @param value the exponent
     * @return the power
     */
    public static NDArray pow(NDArray x, float value) {
        return x.pow(of(x, value));
    }

    /**
     * {@code max(x, value)}, elementwise.
     *
     * @param x the array
     * @param value the floor
     * @return the maximum
     */
    public static NDArray maximum(NDArray x, float value) {
        return x.maximum(of(x, value));
    }

    /**
     * {@code min(x, value)}, elementwise.
     *
     * @param x the array
     * @param value the ceiling
     * @return the minimum
     */
    public static NDArray minimum(NDArray x, float value) {
        return x.minimum(of(x, value));
    }
}
