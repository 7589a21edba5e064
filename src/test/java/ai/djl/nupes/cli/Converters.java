package ai.djl.nupes.cli;

import ai.djl.ndarray.types.Shape;
import ai.djl.nupes.Method;
import ai.djl.nupes.models.TestModel;
import ai.djl.nupes.quantizer.Grid;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

import java.util.Locale;

/**
 * Option value converters: each refuses a bad value with a message that says what it expected, and
 * picocli prints it with the option's name and the usage help.
 */
final class Converters {

    private Converters() {}

    static int wholeNumber(String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + value + "' is not a whole number");
        }
    }

    /** Weight bits: a whole number from 2 to 8. */
    static final class Bits implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int bits = wholeNumber(value);
            if (bits < 2 || bits > 8) {
                throw new TypeConversionException("'" + value + "' is outside 2..8 bits");
            }
            return bits;
        }
    }

    /** Input bits: 2 to 8, or 32 for float inputs. */
    static final class ActivationBits implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int bits = wholeNumber(value);
            if (bits != 32 && (bits < 2 || bits > 8)) {
                throw new TypeConversionException("'" + value + "' is neither 2..8 bits nor 32 (float inputs)");
            }
            return bits;
        }
    }

    /** A whole number of at least 1. */
    static final class Positive implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int n = wholeNumber(value);
            if (n < 1) {
                throw new TypeConversionException("'" + value + "' is not a positive whole number");
            }
            return n;
        }
    }

    /** A whole number of at least 0. */
    static final class NonNegative implements ITypeConverter<Integer> {
        @Override
        public Integer convert(String value) {
            int n = wholeNumber(value);
            if (n < 0) {
                throw new TypeConversionException("'" + value + "' is negative");
            }
            return n;
        }
    }

    /** A method id: uniform, powerquant-global, ..., nupes, gptq, gptq-power. */
    static final class MethodId implements ITypeConverter<Method> {
        @Override
        public Method convert(String value) {
            try {
                return Method.of(value.trim());
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    /**
     * A bundled image classifier id: mlp, cnn, resnet, transformer. The language model {@code lm}
     * is refused here (its commands are {@code bench-lm} and {@code train lm}).
     */
    static final class TestModelId implements ITypeConverter<TestModel> {
        @Override
        public TestModel convert(String value) {
            TestModel model;
            try {
                model = TestModel.of(value.trim());
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
            if (!model.isClassifier()) {
                throw new TypeConversionException(
                        "'" + value.trim() + "' is the language model, not an image classifier;"
                                + " use bench-lm (or train lm)");
            }
            return model;
        }
    }

    /** {@code symmetric} or {@code half-integer}. */
    static final class GridName implements ITypeConverter<Grid> {
        @Override
        public Grid convert(String value) {
            try {
                return Grid.valueOf(value.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException("unknown grid '" + value + "'; expected symmetric or half-integer");
            }
        }
    }

    /** A W/A preset: W8A8, W4A8 or W4A4. */
    static final class Preset implements ITypeConverter<String> {
        @Override
        public String convert(String value) {
            String p = value.trim().toUpperCase(Locale.ROOT);
            if (!p.equals("W8A8") && !p.equals("W4A8") && !p.equals("W4A4")) {
                throw new TypeConversionException("unknown preset '" + value + "'; expected W8A8, W4A8 or W4A4");
            }
            return p;
        }
    }

    /** One sample's shape without the batch axis, as comma-separated positive sizes: {@code 1,28,28}. */
    static final class SampleShape implements ITypeConverter<Shape> {
        @Override
        public Shape convert(String value) {
            String[] parts = value.split(",");
            long[] dims = new long[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    dims[i] = Long.parseLong(parts[i].trim());
                } catch (NumberFormatException e) {
                    dims[i] = -1;
                }
                if (dims[i] < 1) {
                    throw new TypeConversionException(
                            "'" + value + "' is not a shape; expected positive sizes separated by commas, as 1,28,28");
                }
            }
            return new Shape(dims);
        }
    }
}
