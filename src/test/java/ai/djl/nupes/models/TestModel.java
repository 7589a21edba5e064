package ai.djl.nupes.models;

import ai.djl.basicmodelzoo.basic.Mlp;
import ai.djl.basicmodelzoo.cv.classification.ResNetV1;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.pooling.Pool;
import ai.djl.nn.transformer.TransformerEncoderBlock;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Locale;

/**
 * The test models this project quantizes, each built from DJL's own blocks: four Fashion-MNIST
 * classifiers, which take {@code (N, 1, 28, 28)} float images in [0, 1] and return 10 logits, and
 * the character language model {@link #LM}.
 */
public enum TestModel {
    /** 784-256-128-10 perceptron: DJL model-zoo {@code Mlp}. */
    MLP {
        @Override
        public Block newBlock() {
            return new Mlp(28 * 28, 10, new int[] {256, 128});
        }
    },
    /** Two 3x3 convolutions (32, 64 filters) with max pooling, then 128-unit and 10-unit Linear. */
    CNN {
        @Override
        public Block newBlock() {
            return new SequentialBlock()
                    .add(conv(32))
                    .add(Activation.reluBlock())
                    .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                    .add(conv(64))
                    .add(Activation.reluBlock())
                    .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                    .add(Blocks.batchFlattenBlock())
                    .add(Linear.builder().setUnits(128).build())
                    .add(Activation.reluBlock())
                    .add(Dropout.builder().optRate(0.3f).build())
                    .add(Linear.builder().setUnits(10).build());
        }
    },
    /** DJL model-zoo {@code ResNetV1}, 14 layers (BatchNorm, ParallelBlock shortcuts). */
    RESNET {
        @Override
        public Block newBlock() {
            return ResNetV1.builder()
                    .setImageShape(new Shape(1, 28, 28))
                    .setNumLayers(14)
                    .setOutSize(10)
                    .build();
        }
    },
    /**
     * A small vision transformer: 49 patches of 4x4 pixels, a Linear patch embedding to 64, learned
     * positions, two DJL {@code TransformerEncoderBlock}s (4 heads, 128 hidden), mean pooling and a
     * Linear head.
     */
    TRANSFORMER {
        @Override
        public Block newBlock() {
            return new SequentialBlock()
                    .add(new LambdaBlock(TestModel::patchify, "patchify"))
                    .add(Linear.builder().setUnits(EMBEDDING).build())
                    .add(new PositionEmbedding(PATCHES, EMBEDDING))
                    .add(new TransformerEncoderBlock(EMBEDDING, 4, 128, 0.1f, Activation::relu))
                    .add(new TransformerEncoderBlock(EMBEDDING, 4, 128, 0.1f, Activation::relu))
                    .add(
                            new LambdaBlock(
                                    list -> new NDList(list.singletonOrThrow().mean(new int[] {1})),
                                    "meanPool"))
                    .add(Linear.builder().setUnits(10).build());
        }
    },
    /**
     * A byte-level decoder-only transformer language model on the King James Version ({@link
     * CharLanguageModel}): 128 ASCII ids, context {@link #LM_CONTEXT}, width {@link #LM_WIDTH},
     * {@link #LM_LAYERS} pre-LayerNorm decoder layers with a causal mask, an untied Linear head.
     * Takes {@code (N, T)} ids, {@code T ≤ LM_CONTEXT}, and returns {@code (N, T, 128)} logits.
     */
    LM {
        @Override
        public Block newBlock() {
            return new CharLanguageModel(LM_VOCAB, LM_CONTEXT, LM_WIDTH, LM_LAYERS, LM_HEADS, LM_FFN);
        }

        @Override
        public boolean isClassifier() {
            return false;
        }
    };

    /** The language model's vocabulary: ASCII bytes. */
    public static final int LM_VOCAB = 128;
    /** The language model's context (and evaluation window). */
    public static final int LM_CONTEXT = 128;
    /** The language model's width. */
    public static final int LM_WIDTH = 192;
    /** The language model's decoder layers. */
    public static final int LM_LAYERS = 3;
    /** The language model's attention heads. */
    public static final int LM_HEADS = 6;
    /** The language model's feed-forward width. */
    public static final int LM_FFN = 4 * LM_WIDTH;

    /** The input shape of one image batch of size 1. */
    public static final Shape INPUT_SHAPE = new Shape(1, 1, 28, 28);
    /** Where the trained test models live, one directory per model. */
    public static final Path MODELS_DIRECTORY = Paths.get("test-models");

    private static final int PATCH = 4;
    private static final long PATCHES = (28 / PATCH) * (28 / PATCH);
    private static final int EMBEDDING = 64;

    /**
     * Builds the uninitialized block.
     *
     * @return the block
     */
    public abstract Block newBlock();

    /**
     * Whether this is one of the Fashion-MNIST classifiers (images in, 10 logits out); the
     * language model {@link #LM} is not.
     *
     * @return true for mlp, cnn, resnet and transformer
     */
    public boolean isClassifier() {
        return true;
    }

    /**
     * The Fashion-MNIST classifiers, in declaration order.
     *
     * @return every model but {@link #LM}
     */
    public static java.util.List<TestModel> classifiers() {
        return java.util.Arrays.stream(values()).filter(TestModel::isClassifier).toList();
    }

    /**
     * Returns the short name used for directories and in tables ({@code mlp}, {@code cnn}, ...).
     *
     * @return the name
     */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Returns the directory with the trained parameters.
     *
     * @return {@code test-models/<id>}
     */
    public Path directory() {
        return MODELS_DIRECTORY.resolve(id());
    }

    /**
     * Looks a model up by its id.
     *
     * @param id {@code mlp}, {@code cnn}, {@code resnet}, {@code transformer} or {@code lm}
     * @return the model
     */
    public static TestModel of(String id) {
        for (TestModel m : values()) {
            if (m.id().equalsIgnoreCase(id)) {
                return m;
            }
        }
        throw new IllegalArgumentException(
                "unknown test model '" + id + "'; expected one of mlp, cnn, resnet, transformer, lm");
    }

    private static Conv2d conv(int filters) {
        return Conv2d.builder()
                .setKernelShape(new Shape(3, 3))
                .optPadding(new Shape(1, 1))
                .setFilters(filters)
                .build();
    }

    /** {@code (N, 1, 28, 28) → (N, 49, 16)}: non-overlapping 4x4 patches, row-major. */
    private static NDList patchify(NDList list) {
        NDArray x = list.singletonOrThrow();
        long n = x.getShape().get(0);
        int g = 28 / PATCH;
        return new NDList(
                x.reshape(n, g, PATCH, g, PATCH)
                        .transpose(0, 1, 3, 2, 4)
                        .reshape(n, PATCHES, (long) PATCH * PATCH));
    }
}
