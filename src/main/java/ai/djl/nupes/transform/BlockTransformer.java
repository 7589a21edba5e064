package ai.djl.nupes.transform;

import ai.djl.nn.Block;
import ai.djl.nn.BlockList;
import ai.djl.nupes.nn.QuantizedLayer;
import ai.djl.nupes.nn.Wrappers;
import ai.djl.nupes.quantizer.LayerSettings;
import ai.djl.util.Pair;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Walks any DJL block tree and wraps its Linear and convolution layers with quantized wrappers.
 *
 * <p>The walk follows {@code getChildren()} depth first, which for sequential containers, DJL's
 * ResNet, MLP and transformer blocks is network order. Every other leaf block (activations,
 * pooling, norms, lambdas, embeddings) is left as it is and listed in one log line. Children are
 * swapped in place by {@link BlockRewriter}: the caller's block tree is modified, but every float
 * layer stays inside its wrapper, untouched, and {@link #unwrap} puts it back.
 */
public final class BlockTransformer {

    private static final Logger logger = LoggerFactory.getLogger(BlockTransformer.class);

    private BlockTransformer() {}

    /**
     * What a transformation did.
     *
     * @param root the new root (the same object unless the root itself was a wrapped layer)
     * @param layers the wrapped layers, in network order
     * @param leftAsIs the leaf blocks left untouched, as {@code path (Class)}
     */
    public record Result(Block root, List<QuantizedLayer> layers, List<String> leftAsIs) {}

    /**
     * Lists the quantizable layers of a tree in network order, without changing anything.
     *
     * @param root the root block
     * @return every Linear/convolution layer with its path
     */
    public static List<LayerSelector.LayerCandidate> candidates(Block root) {
        List<Site> sites = new ArrayList<>();
        walk(null, null, root, "", sites, new ArrayList<>(), false);
        List<LayerSelector.LayerCandidate> out = new ArrayList<>(sites.size());
        for (Site s : sites) {
            out.add(new LayerSelector.LayerCandidate(s.path, s.block));
        }
        return out;
    }

    /**
     * Wraps the layers the selector picks.
     *
     * @param root the root block, initialized
     * @param selector which layers, and the rules that assemble their settings
     * @param defaults the config-wide settings
     * @return the new root, the wrapped layers and what was left alone
     * @throws IllegalArgumentException when the tree already holds quantized layers
     */
    public static Result wrap(Block root, LayerSelector selector, LayerSelector.Defaults defaults) {
        List<Site> sites = new ArrayList<>();
        List<String> leftAsIs = new ArrayList<>();
        walk(null, null, root, "", sites, leftAsIs, defaults.quantizesTables());
        List<LayerSelector.LayerCandidate> candidates = new ArrayList<>(sites.size());
        for (Site s : sites) {
            candidates.add(new LayerSelector.LayerCandidate(s.path, s.block, s.table));
        }
        List<LayerSettings> settings = selector.select(candidates, defaults);
        List<QuantizedLayer> wrapped = new ArrayList<>();
        Block newRoot = root;
        for (int i = 0; i < sites.size(); i++) {
            Site s = sites.get(i);
            LayerSettings layerSettings = settings.get(i);
            if (layerSettings == null) {
                leftAsIs.add(s.path + " (" + s.block.getClass().getSimpleName() + ", excluded)");
                continue;
            }
            QuantizedLayer q = Wrappers.wrap(s.path, s.block, layerSettings);
            if (s.parent == null) {
                newRoot = q;
            } else {
                BlockRewriter.replaceChild(s.parent, s.childName, s.block, q, s.path);
            }
            wrapped.add(q);
        }
        logger.info(
                "wrapped {} layer(s) with power quantizers; left {} block(s) as they are: {}",
                wrapped.size(),
                leftAsIs.size(),
                leftAsIs);
        return new Result(newRoot, List.copyOf(wrapped), List.copyOf(leftAsIs));
    }

    /**
     * Finds the wrapped layers of a tree, in network order.
     *
     * @param root the root
     * @return the quantized layers
     */
    public static List<QuantizedLayer> quantizedLayers(Block root) {
        List<QuantizedLayer> out = new ArrayList<>();
        collectQuantized(root, out);
        return out;
    }

    /**
     * Puts every wrapped layer's float layer back in its place: the inverse of {@link #wrap}.
     *
     * @param root the root block
     * @return the new root (the float layer when the root itself was wrapped)
     */
    public static Block unwrap(Block root) {
        if (root instanceof QuantizedLayer) {
            return ((QuantizedLayer) root).getFloatLayer();
        }
        unwrapChildren(root);
        return root;
    }

    private static void unwrapChildren(Block parent) {
        for (Pair<String, Block> child : parent.getChildren()) {
            Block b = child.getValue();
            if (b instanceof QuantizedLayer) {
                QuantizedLayer q = (QuantizedLayer) b;
                q.getQuantizer().clearQuantized();
                BlockRewriter.replaceChild(parent, child.getKey(), b, q.getFloatLayer(), q.getPath());
            } else {
                unwrapChildren(b);
            }
        }
    }

    /**
     * Replaces the block at a path (as {@link #candidates} names it) by what {@code replacement}
     * makes of it.
     *
     * @param root the root block
     * @param path the block's path, child names joined by {@code /} ({@code root} for the root)
     * @param replacement turns the block found into its replacement
     * @return the new root (the replacement when the path names the root)
     * @throws IllegalArgumentException when no block has that path
     */
    public static Block replaceAt(Block root, String path, java.util.function.UnaryOperator<Block> replacement) {
        if ("root".equals(path)) {
            return replacement.apply(root);
        }
        Block parent = null;
        Block here = root;
        String name = null;
        for (String part : path.split("/")) {
            Block next = here.getChildren().get(part);
            if (next == null) {
                throw new IllegalArgumentException(
                        "no block at '" + path + "': '" + part + "' is not a child of "
                                + here.getClass().getSimpleName() + " (children: "
                                + here.getChildren().keys() + ')');
            }
            parent = here;
            name = part;
            here = next;
        }
        BlockRewriter.replaceChild(parent, name, here, replacement.apply(here), path);
        return root;
    }

    private static void collectQuantized(Block block, List<QuantizedLayer> out) {
        if (block instanceof QuantizedLayer) {
            out.add((QuantizedLayer) block);
            return;
        }
        for (Pair<String, Block> child : block.getChildren()) {
            collectQuantized(child.getValue(), out);
        }
    }

    private static void walk(
            Block parent,
            String childName,
            Block block,
            String path,
            List<Site> sites,
            List<String> leftAsIs,
            boolean tables) {
        String here = path.isEmpty() ? (childName == null ? "root" : childName) : path;
        if (block instanceof QuantizedLayer) {
            throw new IllegalArgumentException(
                    "layer '" + here + "' is already quantized; quantize the float model instead");
        }
        if (Wrappers.isQuantizable(block) || (tables && Wrappers.isTable(block))) {
            sites.add(new Site(parent, childName, block, here, !Wrappers.isQuantizable(block)));
            return;
        }
        BlockList children = block.getChildren();
        if (children.isEmpty()) {
            leftAsIs.add(here + " (" + block.getClass().getSimpleName() + ')');
            return;
        }
        for (Pair<String, Block> child : children) {
            String childPath = path.isEmpty() ? child.getKey() : path + '/' + child.getKey();
            walk(block, child.getKey(), child.getValue(), childPath, sites, leftAsIs, tables);
        }
    }

    private record Site(Block parent, String childName, Block block, String path, boolean table) {}
}
