package ai.djl.nupes.cli;

import ai.djl.nupes.data.FashionMnistIdx;
import ai.djl.nupes.data.IdxFiles;
import ai.djl.nupes.models.TestModel;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import javax.imageio.ImageIO;

/**
 * Inputs for the command-line tests: a test model copied under another name, folders of 28x28
 * grayscale PNGs cut from the bundled Fashion-MNIST test subset, and an in-process run with
 * captured output.
 */
public final class CliFixtures {

    private CliFixtures() {}

    /** One in-process run: exit code, standard out and standard err. */
    record Run(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- out\n" + out + "\n--- err\n" + err;
        }
    }

    /**
     * Runs the command line in this process with captured output.
     *
     * @param args the arguments
     * @return what it did
     */
    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = NupesCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    /**
     * Copies a bundled test model to {@code parent/name}, its parameter file and {@code
     * option.modelName} renamed to {@code name}.
     *
     * @param model the test model
     * @param parent where the copy goes
     * @param name its new name
     * @return the model directory
     * @throws IOException when copying fails
     */
    static Path copyModel(TestModel model, Path parent, String name) throws IOException {
        Path dir = Files.createDirectories(parent.resolve(name));
        Files.copy(model.directory().resolve(model.id() + "-0000.params"), dir.resolve(name + "-0000.params"));
        String serving = Files.readString(model.directory().resolve("serving.properties"), StandardCharsets.UTF_8)
                .replace("option.modelName=" + model.id(), "option.modelName=" + name);
        Files.writeString(dir.resolve("serving.properties"), serving, StandardCharsets.UTF_8);
        return dir;
    }

    /**
     * Writes the first {@code perClass} images of each class of the bundled test subset as 28x28
     * grayscale PNGs, in subfolders {@code 0} .. {@code 9} or all in one folder.
     *
     * @param dir the folder
     * @param perClass images per class
     * @param classFolders whether to write one subfolder per class
     * @return the folder
     * @throws IOException when reading or writing fails
     */
    static Path writeImageFolder(Path dir, int perClass, boolean classFolders) throws IOException {
        Path bundled = FashionMnistIdx.BUNDLED_DIRECTORY;
        IdxFiles.Images images = IdxFiles.readImages(bundled.resolve(FashionMnistIdx.Split.TEST.imageFile()));
        byte[] labels = IdxFiles.readLabels(bundled.resolve(FashionMnistIdx.Split.TEST.labelFile()));
        int[] written = new int[10];
        int side = images.rows() * images.cols();
        for (int i = 0; i < images.count(); i++) {
            int label = labels[i] & 0xFF;
            if (written[label] >= perClass) {
                continue;
            }
            Path folder = Files.createDirectories(classFolders ? dir.resolve(Integer.toString(label)) : dir);
            BufferedImage img = new BufferedImage(images.cols(), images.rows(), BufferedImage.TYPE_BYTE_GRAY);
            int[] pixels = new int[side];
            for (int p = 0; p < side; p++) {
                pixels[p] = images.pixels()[i * side + p] & 0xFF;
            }
            img.getRaster().setPixels(0, 0, images.cols(), images.rows(), pixels);
            ImageIO.write(img, "png", folder.resolve(String.format("test-%04d.png", i)).toFile());
            written[label]++;
        }
        return dir;
    }

    /**
     * Writes one PNG.
     *
     * @param file the file
     * @param width its width
     * @param height its height
     * @param type a {@link BufferedImage} type: {@code TYPE_BYTE_GRAY}, {@code TYPE_INT_RGB}
     * @return the file
     * @throws IOException when writing fails
     */
    static Path writePng(Path file, int width, int height, int type) throws IOException {
        Files.createDirectories(file.getParent());
        BufferedImage img = new BufferedImage(width, height, type);
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    /**
     * Writes a demo image folder (for trying the command line by hand).
     *
     * @param args the folder, images per class (default 10), and {@code flat} for no class subfolders
     * @throws IOException when writing fails
     */
    public static void main(String[] args) throws IOException {
        Path dir = Paths.get(args.length > 0 ? args[0] : "target/fashion-mnist-png");
        int perClass = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        boolean flat = args.length > 2 && args[2].equals("flat");
        writeImageFolder(dir, perClass, !flat);
        System.out.println("wrote " + (perClass * 10) + " PNGs to " + dir.toAbsolutePath());
    }
}
