package ai.djl.nupes.imports;

import ai.djl.MalformedModelException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Where an encoder comes from: an {@code .onnx} file, a directory holding one, or a jar (e.g. a
 * Maven artifact) holding exactly one {@code *.onnx} entry; with the {@code tokenizer.json} found
 * beside it, if any.
 *
 * @param origin the path the caller gave
 * @param name the model's name: the {@code .onnx} file name without its extension
 * @param model the parsed model
 * @param tokenizerJson the tokenizer file's bytes, or {@code null} when none was found
 */
record OnnxSource(Path origin, String name, OnnxModel model, byte[] tokenizerJson) {

    private static final String ONNX = ".onnx";
    private static final String TOKENIZER = "tokenizer.json";

    /**
     * Opens a source.
     *
     * @param source an {@code .onnx} file, a directory with one, or a jar with one
     * @return the parsed source
     * @throws IOException naming the file when it is missing, unreadable, or a jar/directory
     *     without exactly one {@code .onnx}
     * @throws MalformedModelException naming the file when it is not a well-formed ONNX model
     */
    static OnnxSource open(Path source) throws IOException, MalformedModelException {
        if (!Files.exists(source)) {
            throw new NoSuchFileException(source.toString(), null, "no such model file");
        }
        if (Files.isDirectory(source)) {
            return fromDirectory(source);
        }
        if (!Files.isReadable(source)) {
            throw new AccessDeniedException(source.toString(), null, "cannot read model file");
        }
        if (isZip(source)) {
            return fromJar(source);
        }
        return fromFile(source, source);
    }

    private static OnnxSource fromDirectory(Path dir) throws IOException, MalformedModelException {
        List<Path> onnx;
        try (Stream<Path> files = Files.list(dir)) {
            onnx = files.filter(p -> p.getFileName().toString().endsWith(ONNX)).sorted().toList();
        }
        if (onnx.size() != 1) {
            throw new IOException(
                    "directory "
                            + dir
                            + " holds "
                            + onnx.size()
                            + " *.onnx files "
                            + onnx
                            + ", expected exactly one (Hugging Face safetensors directories are"
                            + " not supported)");
        }
        return fromFile(dir, onnx.get(0));
    }

    private static OnnxSource fromFile(Path origin, Path file)
            throws IOException, MalformedModelException {
        OnnxModel model = OnnxReader.read(file);
        String name = stem(file.getFileName().toString());
        Path dir = file.toAbsolutePath().getParent();
        byte[] tokenizer = null;
        for (String candidate : List.of(name + '-' + TOKENIZER, TOKENIZER)) {
            Path p = dir.resolve(candidate);
            if (Files.isRegularFile(p)) {
                tokenizer = Files.readAllBytes(p);
                break;
            }
        }
        return new OnnxSource(origin, name, model, tokenizer);
    }

    private static OnnxSource fromJar(Path jar) throws IOException, MalformedModelException {
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            List<ZipEntry> onnx = new ArrayList<>();
            List<ZipEntry> tokenizers = new ArrayList<>();
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                if (e.isDirectory()) {
                    continue;
                }
                if (e.getName().endsWith(ONNX)) {
                    onnx.add(e);
                } else if (e.getName().endsWith(TOKENIZER)) {
                    tokenizers.add(e);
                }
            }
            if (onnx.isEmpty()) {
                throw new IOException("jar " + jar + " holds no *.onnx entry");
            }
            if (onnx.size() > 1) {
                throw new IOException(
                        "jar "
                                + jar
                                + " holds "
                                + onnx.size()
                                + " *.onnx entries "
                                + onnx.stream().map(ZipEntry::getName).toList()
                                + ", expected exactly one");
            }
            ZipEntry entry = onnx.get(0);
            String entryName = entry.getName();
            String name = stem(entryName.substring(entryName.lastIndexOf('/') + 1));
            OnnxModel model;
            try {
                model = OnnxReader.read(ByteBuffer.wrap(readEntry(zip, entry, jar)));
            } catch (MalformedModelException e) {
                throw new MalformedModelException(
                        "jar " + jar + ", entry " + entryName + ": " + e.getMessage(), e);
            }
            ZipEntry tokenizer = pickTokenizer(tokenizers, entryName, name);
            byte[] json = tokenizer == null ? null : readEntry(zip, tokenizer, jar);
            return new OnnxSource(jar, name, model, json);
        } catch (java.util.zip.ZipException e) {
            throw new IOException("cannot read jar " + jar + ": " + e.getMessage(), e);
        }
    }

    /**
     * The tokenizer beside the model: {@code <name>-tokenizer.json}, else {@code tokenizer.json},
     * else the only one.
     */
    private static ZipEntry pickTokenizer(
            List<ZipEntry> tokenizers, String onnxEntry, String name) {
        String folder = onnxEntry.substring(0, onnxEntry.lastIndexOf('/') + 1);
        for (String wanted : List.of(folder + name + '-' + TOKENIZER, folder + TOKENIZER)) {
            for (ZipEntry e : tokenizers) {
                if (e.getName().equals(wanted)) {
                    return e;
                }
            }
        }
        return tokenizers.size() == 1 ? tokenizers.get(0) : null;
    }

    private static byte[] readEntry(ZipFile zip, ZipEntry entry, Path jar) throws IOException {
        if (entry.getSize() > Integer.MAX_VALUE - 8) {
            throw new IOException(
                    "jar "
                            + jar
                            + ", entry "
                            + entry.getName()
                            + ": "
                            + entry.getSize()
                            + " bytes, more than a Java array holds");
        }
        try (InputStream in = zip.getInputStream(entry)) {
            return in.readAllBytes();
        }
    }

    private static boolean isZip(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4
                    && magic[0] == 'P'
                    && magic[1] == 'K'
                    && magic[2] == 3
                    && magic[3] == 4;
        }
    }

    private static String stem(String fileName) {
        return fileName.endsWith(ONNX)
                ? fileName.substring(0, fileName.length() - ONNX.length())
                : fileName;
    }
}
