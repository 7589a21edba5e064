package ai.djl.nupes.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nupes.Fixtures;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

class FashionMnistIdxTest {

    @Test
    void bundledSubsetsMatchTheirRecordedChecksumsAndCounts() throws IOException {
        Path dir = FashionMnistIdx.BUNDLED_DIRECTORY;
        JsonObject record =
                JsonParser.parseString(Files.readString(dir.resolve("subset.json"), StandardCharsets.UTF_8))
                        .getAsJsonObject();
        for (FashionMnistIdx.Split split : FashionMnistIdx.Split.values()) {
            JsonObject entry = record.getAsJsonObject(split.name().toLowerCase(java.util.Locale.ROOT));
            assertEquals(entry.get("images_sha256").getAsString(), SubsetBundler.sha256(dir.resolve(split.imageFile())));
            assertEquals(entry.get("labels_sha256").getAsString(), SubsetBundler.sha256(dir.resolve(split.labelFile())));
            int count = split == FashionMnistIdx.Split.TRAIN ? SubsetBundler.TRAIN_COUNT : SubsetBundler.TEST_COUNT;
            assertEquals(count, entry.get("count").getAsInt());
            assertEquals(count, entry.getAsJsonArray("indices").size());
            assertEquals(count, IdxFiles.readLabels(dir.resolve(split.labelFile())).length);
        }
    }

    @Test
    void pixelsAreReadUnsignedIntoTheUnitRangeAndLabelsCoverTenClasses() throws Exception {
        try (NDManager manager = NDManager.newBaseManager()) {
            FashionMnistIdx ds = Fixtures.bundledTestSet(manager);
            assertEquals(2000, ds.size());
            NDArray x = ds.getByRange(manager, 0, 2000).getData().head();
            assertEquals(new ai.djl.ndarray.types.Shape(2000, 1, 28, 28), x.getShape());
            assertEquals(0f, x.min().getFloat());
            assertEquals(1f, x.max().getFloat()); // byte 255, which a signed read would make negative
            assertTrue(x.gt(0.5f).sum().getLong() > 100_000, "bytes above 127 must stay bright");
            float[] labels = ds.getByRange(manager, 0, 2000).getLabels().head().toFloatArray();
            boolean[] seen = new boolean[10];
            for (float l : labels) {
                assertTrue(l >= 0 && l <= 9 && l == Math.rint(l));
                seen[(int) l] = true;
            }
            for (boolean s : seen) {
                assertTrue(s);
            }
        }
    }

    @Test
    void aMissingDirectoryNamesTheDebianPackage(@TempDir Path empty) {
        try (NDManager manager = NDManager.newBaseManager()) {
            FashionMnistIdx ds = FashionMnistIdx.builder().setManager(manager).optDirectory(empty).setSampling(8, false).build();
            IOException e = assertThrows(IOException.class, ds::prepare);
            assertTrue(e.getMessage().contains("dataset-fashion-mnist"), e.getMessage());
            assertTrue(e.getMessage().contains("train-images-idx3-ubyte.gz"), e.getMessage());
        }
    }

    @Test
    void idxFilesRoundTripAndRejectWrongMagicOrTruncation(@TempDir Path dir) throws IOException {
        byte[] pixels = new byte[3 * 2 * 2];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 20);
        }
        Path images = dir.resolve("img.gz");
        IdxFiles.writeImages(images, new IdxFiles.Images(3, 2, 2, pixels));
        IdxFiles.Images back = IdxFiles.readImages(images);
        assertEquals(3, back.count());
        assertTrue(java.util.Arrays.equals(pixels, back.pixels()));
        Path labels = dir.resolve("lab.gz");
        IdxFiles.writeLabels(labels, new byte[] {1, 2, 3});
        IOException wrongMagic = assertThrows(IOException.class, () -> IdxFiles.readImages(labels));
        assertTrue(wrongMagic.getMessage().contains("lab.gz"), wrongMagic.getMessage());
        Path truncated = dir.resolve("short.gz");
        IdxFiles.writeImages(truncated, new IdxFiles.Images(5, 2, 2, pixels)); // header says 20 bytes, 12 follow
        IOException e = assertThrows(IOException.class, () -> IdxFiles.readImages(truncated));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("short.gz"), e.getMessage());
    }
}
