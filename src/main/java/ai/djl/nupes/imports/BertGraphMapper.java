package ai.djl.nupes.imports;

import ai.djl.MalformedModelException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Finds a Hugging Face BERT-family encoder (BERT, MiniLM, …: post-LayerNorm layers, GELU with erf,
 * learned absolute positions) in an ONNX graph as {@code torch.onnx} exports it, and collects its
 * weights and architecture.
 *
 * <p>The embeddings, biases and LayerNorm parameters are initializers under their PyTorch names
 * ({@code embeddings.word_embeddings.weight}, {@code encoder.layer.N.attention.self.query.bias}, …,
 * optionally behind a prefix such as {@code bert.}); the linear weights are unnamed ({@code
 * onnx::MatMul_787}) and stored (in, out): each is found by following the graph from its bias, the
 * {@code Add} that adds the bias to a {@code MatMul} by a constant. Everything else comes from the
 * graph too: heads and head size from the {@code Reshape} that splits the heads, the attention
 * scale from its {@code Div}, the LayerNorm epsilon from the {@code LayerNormalization} node or
 * from the constant added to the variance of a decomposed LayerNorm (opset &lt; 17), the mask bias
 * from the {@code (1 - mask) · c} subgraph; the GELU subgraph is evaluated at sample points and
 * must compute GELU with erf. Residual connections, the order of the layers and the graph output
 * are checked.
 *
 * <p>Anything that does not fit is refused with a {@link MalformedModelException} naming the node
 * or tensor: an operator outside the set such an encoder uses, a missing bias, a weight of the
 * wrong shape, a pattern that does not match.
 */
public final class BertGraphMapper {

    /** Operators a float BERT export uses; anything else on the way to the output is refused. */
    private static final Set<String> SUPPORTED_OPS =
            Set.of(
                    // math
                    "MatMul",
                    "Add",
                    "Sub",
                    "Mul",
                    "Div",
                    "Pow",
                    "Sqrt",
                    "ReduceMean",
                    "Softmax",
                    "Erf",
                    "LayerNormalization",
                    // shape and index plumbing
                    "Gather",
                    "Shape",
                    "Unsqueeze",
                    "Squeeze",
                    "Concat",
                    "Slice",
                    "Cast",
                    "Reshape",
                    "Transpose",
                    "Constant",
                    "ConstantOfShape",
                    "Expand",
                    "Identity");

    private static final Pattern LAYER = Pattern.compile("encoder\\.layer\\.(\\d+)\\.");
    private static final String WORD_EMBEDDINGS = "embeddings.word_embeddings.weight";
    private static final int[] HEADS_FIRST = {0, 2, 1, 3};
    private static final int[] KEYS_TRANSPOSED = {0, 2, 3, 1};

    private final GraphIndex g;
    private final long opset;
    private final Map<String, BertCheckpoint.Weight> weights = new LinkedHashMap<>();
    private final Map<String, Float> epsilons = new LinkedHashMap<>();

    /** What every layer must agree on; -1 / null until the first layer sets it. */
    private int heads = -1;

    private int intermediate = -1;
    private String maskBias;

    private BertGraphMapper(OnnxModel model) {
        this.g = new GraphIndex(model.graph());
        this.opset = model.defaultOpset();
    }

    /**
     * Maps a model.
     *
     * @param model the parsed ONNX model
     * @return the architecture and weights
     * @throws MalformedModelException when the graph is not a BERT-family encoder; the message
     *     names the node or tensor that does not fit
     */
    public static BertCheckpoint map(OnnxModel model) throws MalformedModelException {
        return new BertGraphMapper(model).run();
    }

    private BertCheckpoint run() throws MalformedModelException {
        String output = hiddenStateOutput();
        checkOperators(output);
        String inputIds = requireInput("input_ids");
        String attentionMask = requireInput("attention_mask");
        Optional<String> tokenTypeIds = optionalInput("token_type_ids");
        String prefix = prefix();

        // embeddings
        OnnxTensor word = requireMatrix(prefix + WORD_EMBEDDINGS, -1);
        int vocab = (int) word.dims()[0];
        int hidden = (int) word.dims()[1];
        OnnxTensor position =
                requireMatrix(prefix + "embeddings.position_embeddings.weight", hidden);
        OnnxTensor types =
                requireMatrix(prefix + "embeddings.token_type_embeddings.weight", hidden);
        String words = gathered(word, "input_ids", v -> v.equals(inputIds));
        String typeTerms =
                gathered(
                        types,
                        "token_type_ids or zeros",
                        v -> tokenTypeIds.map(v::equals).orElse(false) || isZeros(v));
        String positions = gathered(position, "positions 0, 1, 2, …", this::isPositionRange);
        LayerNormMatch embeddingNorm = layerNorm(prefix + "embeddings.LayerNorm", hidden);
        Set<String> terms = addTerms(embeddingNorm.input());
        if (!terms.equals(Set.of(words, typeTerms, positions))) {
            throw bad(
                    "the input '"
                            + embeddingNorm.input()
                            + "' of "
                            + prefix
                            + "embeddings.LayerNorm is not word + token type + position embeddings"
                            + " (it adds "
                            + terms
                            + ')');
        }
        put(prefix, "embeddings.word_embeddings.weight", word, false);
        put(prefix, "embeddings.token_type_embeddings.weight", types, false);
        put(prefix, "embeddings.position_embeddings.weight", position, false);

        // layers
        int layers = countLayers(prefix);
        String x = embeddingNorm.output();
        for (int i = 0; i < layers; i++) {
            x = layer(prefix + "encoder.layer." + i + '.', x, hidden);
        }
        if (!x.equals(output)) {
            throw bad(
                    "graph output '"
                            + output
                            + "' is not the output '"
                            + x
                            + "' of the last"
                            + " layer's LayerNorm (it is produced by "
                            + g.producer(output).map(OnnxNode::label).orElse("no node")
                            + ')');
        }
        float maskValue = maskBiasConstant(maskBias, attentionMask);
        float eps = commonEpsilon();
        BertConfig config;
        try {
            config =
                    new BertConfig(
                            vocab,
                            hidden,
                            layers,
                            heads,
                            intermediate,
                            (int) position.dims()[0],
                            (int) types.dims()[0],
                            eps,
                            maskValue);
        } catch (IllegalArgumentException e) {
            throw bad("the graph's architecture is not valid: " + e.getMessage());
        }
        return new BertCheckpoint(config, withoutPrefix(prefix));
    }

    // ---------------------------------------------------------------- graph inputs and outputs

    private String hiddenStateOutput() throws MalformedModelException {
        List<OnnxValueInfo> outputs = g.graph().outputs();
        if (outputs.isEmpty()) {
            throw bad("the graph has no outputs");
        }
        for (OnnxValueInfo o : outputs) {
            if (o.name().equals("last_hidden_state")) {
                return o.name();
            }
        }
        return outputs.get(0).name();
    }

    private void checkOperators(String output) throws MalformedModelException {
        for (OnnxNode n : g.ancestors(output)) {
            boolean defaultDomain = n.domain().isEmpty() || n.domain().equals("ai.onnx");
            if (!defaultDomain || !SUPPORTED_OPS.contains(n.opType())) {
                throw bad(
                        "node '"
                                + n.label()
                                + "' has op type '"
                                + n.opType()
                                + '\''
                                + (defaultDomain ? "" : " of domain '" + n.domain() + '\'')
                                + ", which is not part of a float BERT encoder (supported: "
                                + new TreeSet<>(SUPPORTED_OPS)
                                + ')');
            }
        }
    }

    private String requireInput(String name) throws MalformedModelException {
        return optionalInput(name)
                .orElseThrow(
                        () ->
                                bad(
                                        "the graph has no input '"
                                                + name
                                                + "' (inputs: "
                                                + inputNames()
                                                + ')'));
    }

    private Optional<String> optionalInput(String name) throws MalformedModelException {
        for (OnnxValueInfo v : g.graph().runtimeInputs()) {
            if (v.name().equals(name)) {
                if (v.elementType() != OnnxDataType.INT64
                        && v.elementType() != OnnxDataType.INT32) {
                    throw bad("graph input '" + name + "' is " + v.elementType() + ", not INT64");
                }
                return Optional.of(name);
            }
        }
        return Optional.empty();
    }

    private List<String> inputNames() {
        return g.graph().runtimeInputs().stream().map(OnnxValueInfo::name).toList();
    }

    // ---------------------------------------------------------------- embeddings

    private String prefix() throws MalformedModelException {
        for (OnnxTensor t : g.graph().initializers()) {
            if (t.name().endsWith(WORD_EMBEDDINGS)) {
                return t.name().substring(0, t.name().length() - WORD_EMBEDDINGS.length());
            }
        }
        throw bad(
                "no initializer named '"
                        + WORD_EMBEDDINGS
                        + "': not a BERT export (first"
                        + " initializers: "
                        + g.graph().initializers().stream().limit(5).map(OnnxTensor::name).toList()
                        + ')');
    }

    private String gathered(OnnxTensor table, String what, ValueTest indices)
            throws MalformedModelException {
        for (OnnxNode n : g.consumers(table.name())) {
            if (n.opType().equals("Gather")
                    && n.inputs().size() == 2
                    && n.inputs().get(0).equals(table.name())
                    && n.attribute("axis").map(OnnxAttribute::i).orElse(0L) == 0) {
                if (!indices.test(n.inputs().get(1))) {
                    throw bad(
                            "Gather node '"
                                    + n.label()
                                    + "' looks up embedding '"
                                    + table.name()
                                    + "' at '"
                                    + n.inputs().get(1)
                                    + "', expected "
                                    + what);
                }
                return n.outputs().get(0);
            }
        }
        throw bad(
                "embedding '"
                        + table.name()
                        + "' is not looked up by a Gather node (read by "
                        + labels(g.consumers(table.name()))
                        + ')');
    }

    private boolean isZeros(String value) {
        Optional<OnnxTensor> c = g.constant(value);
        if (c.isEmpty()) {
            // a buffered all-zero token_type_ids, sliced or expanded to the input's shape
            Optional<OnnxNode> p = g.producer(value);
            if (p.isPresent() && Set.of("Slice", "Expand", "Identity").contains(p.get().opType())) {
                return isZeros(p.get().inputs().get(0));
            }
            return false;
        }
        try {
            return Arrays.stream(c.get().longs()).allMatch(v -> v == 0);
        } catch (IllegalStateException e) {
            return false;
        }
    }

    private boolean isPositionRange(String value) {
        Optional<OnnxTensor> c = g.constant(value);
        if (c.isPresent()) {
            return isRange(c.get());
        }
        Optional<OnnxNode> p = g.producer(value);
        if (p.isEmpty() || !p.get().opType().equals("Slice")) {
            return false;
        }
        OnnxNode slice = p.get();
        Optional<OnnxTensor> data = g.constant(slice.inputs().get(0));
        if (data.isEmpty() || !isRange(data.get())) {
            return false;
        }
        long[] starts;
        if (slice.inputs().size() > 1) {
            Optional<OnnxTensor> s = g.constant(slice.inputs().get(1));
            if (s.isEmpty()) {
                return false;
            }
            starts = s.get().longs();
            if (slice.inputs().size() > 4 && !slice.inputs().get(4).isEmpty()) {
                Optional<OnnxTensor> steps = g.constant(slice.inputs().get(4));
                if (steps.isEmpty() || Arrays.stream(steps.get().longs()).anyMatch(v -> v != 1)) {
                    return false;
                }
            }
        } else {
            starts = slice.attribute("starts").map(OnnxAttribute::ints).orElse(new long[0]);
        }
        return Arrays.stream(starts).allMatch(v -> v == 0);
    }

    private static boolean isRange(OnnxTensor t) {
        try {
            long[] v = t.longs();
            for (int i = 0; i < v.length; i++) {
                if (v[i] != i) {
                    return false;
                }
            }
            return true;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    /** The terms of a sum of non-constant values: {@code (a + b) + c} gives {a, b, c}. */
    private Set<String> addTerms(String value) {
        Optional<OnnxNode> p = g.producer(value);
        if (p.isPresent()
                && p.get().opType().equals("Add")
                && p.get().inputs().size() == 2
                && p.get().inputs().stream().allMatch(in -> g.constant(in).isEmpty())) {
            Set<String> out = new HashSet<>(addTerms(p.get().inputs().get(0)));
            out.addAll(addTerms(p.get().inputs().get(1)));
            return out;
        }
        return Set.of(value);
    }

    // ---------------------------------------------------------------- layers

    private int countLayers(String prefix) throws MalformedModelException {
        int max = -1;
        for (OnnxTensor t : g.graph().initializers()) {
            if (t.name().startsWith(prefix)) {
                Matcher m = LAYER.matcher(t.name().substring(prefix.length()));
                if (m.lookingAt()) {
                    max = Math.max(max, Integer.parseInt(m.group(1)));
                }
            }
        }
        if (max < 0) {
            throw bad("no initializer named '" + prefix + "encoder.layer.0.*': no encoder layers");
        }
        return max + 1;
    }

    /** Matches one encoder layer reading {@code x} and returns its output. */
    private String layer(String p, String x, int hidden) throws MalformedModelException {
        LinearMatch q = linear(p + "attention.self.query", hidden, hidden);
        LinearMatch k = linear(p + "attention.self.key", hidden, hidden);
        LinearMatch v = linear(p + "attention.self.value", hidden, hidden);
        for (LinearMatch m : List.of(q, k, v)) {
            requireReads(m, x, "the layer input");
        }
        Attention a = attention(p, q, k, v, hidden);
        if (heads != -1 && a.heads() != heads) {
            throw bad(
                    p
                            + "attention splits "
                            + a.heads()
                            + " heads at Reshape node '"
                            + a.split().label()
                            + "', earlier layers "
                            + heads);
        }
        heads = a.heads();
        if (maskBias != null && !maskBias.equals(a.maskBias())) {
            throw bad(
                    p
                            + "attention adds mask bias '"
                            + a.maskBias()
                            + "', earlier layers '"
                            + maskBias
                            + '\'');
        }
        maskBias = a.maskBias();
        LinearMatch attentionOut = linear(p + "attention.output.dense", hidden, hidden);
        requireReads(attentionOut, a.context(), "the merged attention heads");
        LayerNormMatch norm1 = layerNorm(p + "attention.output.LayerNorm", hidden);
        requireResidual(norm1, attentionOut, x);
        LinearMatch up = linear(p + "intermediate.dense", hidden, -1);
        requireReads(up, norm1.output(), "the attention LayerNorm output");
        int ffn = (int) up.bias().dims()[0];
        if (intermediate != -1 && ffn != intermediate) {
            throw bad(
                    "bias '"
                            + p
                            + "intermediate.dense.bias' has "
                            + ffn
                            + " features, earlier layers "
                            + intermediate);
        }
        intermediate = ffn;
        LinearMatch down = linear(p + "output.dense", ffn, hidden);
        requireGelu(p, up.output(), down.input());
        LayerNormMatch norm2 = layerNorm(p + "output.LayerNorm", hidden);
        requireResidual(norm2, down, norm1.output());

        Map<String, LinearMatch> linears = new LinkedHashMap<>();
        linears.put("attention.self.query", q);
        linears.put("attention.self.key", k);
        linears.put("attention.self.value", v);
        linears.put("attention.output.dense", attentionOut);
        linears.put("intermediate.dense", up);
        linears.put("output.dense", down);
        for (Map.Entry<String, LinearMatch> e : linears.entrySet()) {
            put(p, e.getKey() + ".weight", e.getValue().weight(), true);
            put(p, e.getKey() + ".bias", e.getValue().bias(), false);
        }
        return norm2.output();
    }

    private LinearMatch linear(String name, int in, int out) throws MalformedModelException {
        String biasName = name + ".bias";
        OnnxTensor bias =
                g.initializer(biasName)
                        .orElseThrow(() -> bad("missing bias initializer '" + biasName + '\''));
        requireFloat(bias);
        long[] b = bias.dims();
        if (b.length != 1 || (out > 0 && b[0] != out)) {
            throw bad(
                    "bias '"
                            + biasName
                            + "' has shape "
                            + Arrays.toString(b)
                            + ", expected ["
                            + (out > 0 ? out : "features")
                            + ']');
        }
        int features = (int) b[0];
        List<OnnxNode> adds =
                g.consumers(biasName).stream().filter(n -> n.opType().equals("Add")).toList();
        if (adds.size() != 1 || adds.get(0).inputs().size() != 2) {
            throw bad(
                    "bias '"
                            + biasName
                            + "' is read by "
                            + labels(g.consumers(biasName))
                            + ", expected one Add after a MatMul");
        }
        OnnxNode add = adds.get(0);
        String product = add.inputs().get(add.inputs().get(0).equals(biasName) ? 1 : 0);
        OnnxNode matMul =
                g.producer(product)
                        .filter(n -> n.opType().equals("MatMul"))
                        .orElseThrow(
                                () ->
                                        bad(
                                                "Add node '"
                                                        + add.label()
                                                        + "' adds bias '"
                                                        + biasName
                                                        + "' to '"
                                                        + product
                                                        + "', which no MatMul node produces"));
        String weightName = matMul.inputs().get(1);
        OnnxTensor weight =
                g.initializer(weightName)
                        .orElseThrow(
                                () ->
                                        bad(
                                                "MatMul node '"
                                                        + matMul.label()
                                                        + "' multiplies by '"
                                                        + weightName
                                                        + "', which is not an initializer"));
        requireFloat(weight);
        long[] expected = {in, features};
        if (!Arrays.equals(weight.dims(), expected)) {
            throw bad(
                    "MatMul node '"
                            + matMul.label()
                            + "' has weight '"
                            + weightName
                            + "' of shape "
                            + Arrays.toString(weight.dims())
                            + ", expected "
                            + Arrays.toString(expected)
                            + " (in × out) for "
                            + name);
        }
        return new LinearMatch(matMul, weight, bias, matMul.inputs().get(0), add.outputs().get(0));
    }

    private void requireReads(LinearMatch m, String value, String what)
            throws MalformedModelException {
        if (!m.input().equals(value)) {
            throw bad(
                    "MatMul node '"
                            + m.matMul().label()
                            + "' reads '"
                            + m.input()
                            + "', expected "
                            + what
                            + " '"
                            + value
                            + '\'');
        }
    }

    private void requireResidual(LayerNormMatch norm, LinearMatch sublayer, String residual)
            throws MalformedModelException {
        if (!addTerms(norm.input()).equals(Set.of(sublayer.output(), residual))) {
            throw bad(
                    norm.name()
                            + " normalizes '"
                            + norm.input()
                            + "', expected the sum of '"
                            + sublayer.output()
                            + "' and the residual '"
                            + residual
                            + '\'');
        }
    }

    // ---------------------------------------------------------------- attention

    private Attention attention(
            String layer, LinearMatch q, LinearMatch k, LinearMatch v, int hidden)
            throws MalformedModelException {
        HeadSplit qs = headSplit(q, hidden);
        HeadSplit ks = headSplit(k, hidden);
        HeadSplit vs = headSplit(v, hidden);
        for (HeadSplit s : List.of(ks, vs)) {
            if (s.heads() != qs.heads()) {
                throw bad(
                        "Reshape node '"
                                + s.reshape().label()
                                + "' splits "
                                + s.heads()
                                + " heads, the query's Reshape node '"
                                + qs.reshape().label()
                                + "' "
                                + qs.heads());
            }
        }
        requirePerm(qs, HEADS_FIRST, "query");
        requirePerm(ks, KEYS_TRANSPOSED, "key");
        requirePerm(vs, HEADS_FIRST, "value");
        OnnxNode scores = consumer(qs.value(), "MatMul", layer + "attention scores");
        if (!scores.inputs().equals(List.of(qs.value(), ks.value()))) {
            throw bad(
                    "MatMul node '"
                            + scores.label()
                            + "' multiplies "
                            + scores.inputs()
                            + ", expected query · keyᵀ "
                            + List.of(qs.value(), ks.value()));
        }
        String scaled = scale(scores, hidden / qs.heads());
        OnnxNode maskAdd = consumer(scaled, "Add", layer + "attention mask");
        String maskBias = maskAdd.inputs().get(maskAdd.inputs().get(0).equals(scaled) ? 1 : 0);
        OnnxNode softmax = consumer(maskAdd.outputs().get(0), "Softmax", layer + "attention");
        Optional<OnnxAttribute> axis = softmax.attribute("axis");
        long ax = axis.map(OnnxAttribute::i).orElse(opset >= 13 ? -1L : 1L);
        if (ax != 3 && ax != -1) {
            throw bad("Softmax node '" + softmax.label() + "' has axis " + ax + ", expected -1");
        }
        OnnxNode mix = consumer(softmax.outputs().get(0), "MatMul", layer + "attention values");
        if (!mix.inputs().equals(List.of(softmax.outputs().get(0), vs.value()))) {
            throw bad(
                    "MatMul node '"
                            + mix.label()
                            + "' multiplies "
                            + mix.inputs()
                            + ", expected probabilities · values");
        }
        // heads back: (N, h, T, d) -> (N, T, h, d) -> (N, T, H)
        Transposes t = followTransposes(mix.outputs().get(0));
        int[] perm = t.perm();
        OnnxNode next = t.next();
        if (!Arrays.equals(perm, HEADS_FIRST) || next == null || !next.opType().equals("Reshape")) {
            throw bad(
                    "the attention output '"
                            + mix.outputs().get(0)
                            + "' of MatMul node '"
                            + mix.label()
                            + "' is not transposed back to (batch, tokens, heads,"
                            + " size) and reshaped (permutation "
                            + Arrays.toString(perm)
                            + ", then "
                            + (next == null ? "no single node" : next.label())
                            + ')');
        }
        return new Attention(qs.heads(), qs.reshape(), maskBias, next.outputs().get(0));
    }

    private HeadSplit headSplit(LinearMatch m, int hidden) throws MalformedModelException {
        OnnxNode reshape = consumer(m.output(), "Reshape", "the head split of " + m.bias().name());
        List<Long> shape = partialShape(reshape.inputs().get(1));
        if (shape == null
                || shape.size() != 4
                || shape.get(2) == null
                || shape.get(3) == null
                || shape.get(2) * shape.get(3) != hidden) {
            throw bad(
                    "Reshape node '"
                            + reshape.label()
                            + "' does not split "
                            + hidden
                            + " features into constant (heads, head size) (shape "
                            + (shape == null ? "not built from constants" : shape)
                            + ')');
        }
        Transposes t = followTransposes(reshape.outputs().get(0));
        return new HeadSplit(reshape, shape.get(2).intValue(), t.value(), t.perm());
    }

    /**
     * A run of Transpose nodes after a 4-d value.
     *
     * @param perm the composed permutation
     * @param value the value after the last Transpose
     * @param next the single consumer of that value, or null
     */
    private record Transposes(int[] perm, String value, OnnxNode next) {}

    /** Follows the chain of single Transpose consumers of a 4-d value, composing them. */
    private Transposes followTransposes(String start) throws MalformedModelException {
        String value = start;
        int[] perm = {0, 1, 2, 3};
        OnnxNode next = single(dataConsumers(value));
        while (next != null && next.opType().equals("Transpose")) {
            perm = compose(perm, perm(next));
            value = next.outputs().get(0);
            next = single(dataConsumers(value));
        }
        return new Transposes(perm, value, next);
    }

    private void requirePerm(HeadSplit s, int[] expected, String role)
            throws MalformedModelException {
        if (!Arrays.equals(s.perm(), expected)) {
            throw bad(
                    "the "
                            + role
                            + " heads of Reshape node '"
                            + s.reshape().label()
                            + "' are permuted "
                            + Arrays.toString(s.perm())
                            + ", expected "
                            + Arrays.toString(expected));
        }
    }

    /** Checks {@code scores / √d} (or {@code scores · (1/√d)}) and returns the scaled scores. */
    private String scale(OnnxNode scores, int headSize) throws MalformedModelException {
        String value = scores.outputs().get(0);
        OnnxNode n = single(dataConsumers(value));
        Optional<GraphIndex.ConstantOperand> c =
                n == null ? Optional.empty() : g.constantOperand(n);
        double root = Math.sqrt(headSize);
        if (c.isPresent() && c.get().other().equals(value)) {
            float f = c.get().value();
            if (n.opType().equals("Div") && c.get().index() == 1 && close(f, root)) {
                return n.outputs().get(0);
            }
            if (n.opType().equals("Mul") && close(f, 1 / root)) {
                return n.outputs().get(0);
            }
        }
        throw bad(
                "the attention scores of MatMul node '"
                        + scores.label()
                        + "' are not divided by"
                        + " √"
                        + headSize
                        + " (next: "
                        + (n == null ? "no single node" : n.label())
                        + ')');
    }

    /** Checks {@code bias = (1 - float(unsqueeze(mask))) · c} and returns c. */
    private float maskBiasConstant(String bias, String maskInput) throws MalformedModelException {
        OnnxNode mul =
                g.producer(bias)
                        .filter(n -> n.opType().equals("Mul"))
                        .orElseThrow(() -> bad("attention mask bias '" + bias + "' is not a Mul"));
        GraphIndex.ConstantOperand c =
                g.constantOperand(mul)
                        .orElseThrow(
                                () ->
                                        bad(
                                                "Mul node '"
                                                        + mul.label()
                                                        + "' does not scale the mask by a"
                                                        + " constant"));
        OnnxNode sub =
                g.producer(c.other())
                        .filter(n -> n.opType().equals("Sub"))
                        .orElseThrow(
                                () ->
                                        bad(
                                                "Mul node '"
                                                        + mul.label()
                                                        + "' scales '"
                                                        + c.other()
                                                        + "', expected 1 - mask"));
        Optional<GraphIndex.ConstantOperand> one = g.constantOperand(sub);
        if (one.isEmpty() || one.get().index() != 0 || one.get().value() != 1f) {
            throw bad("Sub node '" + sub.label() + "' is not 1 - mask");
        }
        // from the Sub back to the graph input: Cast to float, Unsqueeze to (N, 1, 1, T)
        List<OnnxNode> path = new ArrayList<>();
        String value = one.get().other();
        while (!value.equals(maskInput)) {
            String v = value;
            OnnxNode p =
                    g.producer(v)
                            .filter(
                                    n ->
                                            n.opType().equals("Cast")
                                                    || n.opType().equals("Unsqueeze"))
                            .orElseThrow(
                                    () ->
                                            bad(
                                                    "Sub node '"
                                                            + sub.label()
                                                            + "' reads '"
                                                            + v
                                                            + "', which is not the attention mask"
                                                            + " cast and unsqueezed"));
            path.add(0, p);
            value = p.inputs().get(0);
        }
        List<String> dims = new ArrayList<>(List.of("N", "T"));
        boolean cast = false;
        for (OnnxNode p : path) {
            if (p.opType().equals("Cast")) {
                cast =
                        p.attribute("to").map(OnnxAttribute::i).orElse(0L)
                                == OnnxDataType.FLOAT.code();
            } else {
                long[] axes = unsqueezeAxes(p);
                Arrays.sort(axes);
                for (long a : axes) {
                    dims.add((int) a, "1");
                }
            }
        }
        if (!cast || !dims.equals(List.of("N", "1", "1", "T"))) {
            throw bad(
                    "the attention mask reaches Sub node '"
                            + sub.label()
                            + "' as "
                            + dims
                            + (cast ? "" : " without a cast to float")
                            + ", expected float (N, 1, 1, T)");
        }
        return c.value();
    }

    private long[] unsqueezeAxes(OnnxNode unsqueeze) throws MalformedModelException {
        Optional<OnnxAttribute> attr = unsqueeze.attribute("axes");
        if (attr.isPresent()) {
            return attr.get().ints();
        }
        if (unsqueeze.inputs().size() > 1) {
            Optional<OnnxTensor> t = g.constant(unsqueeze.inputs().get(1));
            if (t.isPresent()) {
                return t.get().longs();
            }
        }
        throw bad("Unsqueeze node '" + unsqueeze.label() + "' has no constant axes");
    }

    // ---------------------------------------------------------------- feed-forward

    /** Evaluates the subgraph between the two dense layers at sample points: it must be GELU. */
    private void requireGelu(String layer, String in, String out) throws MalformedModelException {
        for (double x : new double[] {-4, -2.5, -1, -0.3, 0, 0.2, 0.7, 1.5, 3}) {
            double y = evaluate(out, in, x, 0, layer);
            double gelu = 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2)));
            if (Math.abs(y - gelu) > 1e-5) {
                throw bad(
                        "the activation of "
                                + layer
                                + "intermediate (from '"
                                + in
                                + "' to '"
                                + out
                                + "') is not GELU with erf: it gives "
                                + y
                                + " at "
                                + x
                                + ", GELU "
                                + gelu);
            }
        }
    }

    private double evaluate(String value, String x, double at, int depth, String layer)
            throws MalformedModelException {
        if (value.equals(x)) {
            return at;
        }
        Optional<OnnxTensor> c = g.constant(value);
        if (c.isPresent()) {
            if (c.get().size() != 1 || c.get().dataType() != OnnxDataType.FLOAT) {
                throw bad(
                        "the activation of "
                                + layer
                                + "intermediate uses constant '"
                                + value
                                + "', which is not a float scalar");
            }
            return c.get().scalarFloat();
        }
        OnnxNode n =
                g.producer(value)
                        .orElseThrow(
                                () ->
                                        bad(
                                                "the activation of "
                                                        + layer
                                                        + "intermediate"
                                                        + " reads '"
                                                        + value
                                                        + "', which is not"
                                                        + " computed from the dense output"));
        if (depth > 16) {
            throw bad("the activation of " + layer + "intermediate is deeper than GELU");
        }
        List<String> ins = n.inputs();
        return switch (n.opType()) {
            case "Erf" -> Erf.erf(evaluate(ins.get(0), x, at, depth + 1, layer));
            case "Sqrt" -> Math.sqrt(evaluate(ins.get(0), x, at, depth + 1, layer));
            case "Add", "Sub", "Mul", "Div", "Pow" -> {
                double a = evaluate(ins.get(0), x, at, depth + 1, layer);
                double b = evaluate(ins.get(1), x, at, depth + 1, layer);
                yield switch (n.opType()) {
                    case "Add" -> a + b;
                    case "Sub" -> a - b;
                    case "Mul" -> a * b;
                    case "Div" -> a / b;
                    default -> Math.pow(a, b);
                };
            }
            default ->
                    throw bad(
                            "the activation of "
                                    + layer
                                    + "intermediate uses node '"
                                    + n.label()
                                    + "' ("
                                    + n.opType()
                                    + "), which GELU with erf does not");
        };
    }

    // ---------------------------------------------------------------- LayerNorm

    private LayerNormMatch layerNorm(String name, int hidden) throws MalformedModelException {
        OnnxTensor gamma = requireVector(name + ".weight", hidden);
        OnnxTensor beta = requireVector(name + ".bias", hidden);
        OnnxNode first = consumer(gamma.name(), null, name);
        LayerNormMatch match;
        if (first.opType().equals("LayerNormalization")) {
            if (first.inputs().size() != 3
                    || !first.inputs().get(1).equals(gamma.name())
                    || !first.inputs().get(2).equals(beta.name())) {
                throw bad(
                        "LayerNormalization node '"
                                + first.label()
                                + "' reads "
                                + first.inputs()
                                + ", expected (x, "
                                + gamma.name()
                                + ", "
                                + beta.name()
                                + ')');
            }
            long axis = first.attribute("axis").map(OnnxAttribute::i).orElse(-1L);
            if (axis != -1 && axis != 2) {
                throw bad(
                        "LayerNormalization node '"
                                + first.label()
                                + "' normalizes from axis "
                                + axis
                                + ", expected the last axis");
            }
            float eps = first.attribute("epsilon").map(OnnxAttribute::f).orElse(1e-5f);
            match = new LayerNormMatch(name, first.inputs().get(0), first.outputs().get(0), eps);
        } else {
            match = decomposedLayerNorm(name, first, gamma, beta);
        }
        put("", name + ".weight", gamma, false);
        put("", name + ".bias", beta, false);
        epsilons.put(name, match.eps());
        return match;
    }

    /** {@code (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) * gamma + beta}, over axis -1. */
    private LayerNormMatch decomposedLayerNorm(
            String name, OnnxNode scale, OnnxTensor gamma, OnnxTensor beta)
            throws MalformedModelException {
        requireOp(scale, "Mul", name);
        String normalized = other(scale, gamma.name());
        OnnxNode shift = consumer(scale.outputs().get(0), "Add", name);
        if (!other(shift, scale.outputs().get(0)).equals(beta.name())) {
            throw bad("Add node '" + shift.label() + "' does not add " + beta.name());
        }
        OnnxNode div = producer(normalized, "Div", name);
        String centered = div.inputs().get(0);
        OnnxNode sub = producer(centered, "Sub", name);
        String x = sub.inputs().get(0);
        OnnxNode mean = producer(sub.inputs().get(1), "ReduceMean", name);
        requireLastAxisMean(mean, x, name);
        OnnxNode sqrt = producer(div.inputs().get(1), "Sqrt", name);
        OnnxNode addEps = producer(sqrt.inputs().get(0), "Add", name);
        GraphIndex.ConstantOperand eps =
                g.constantOperand(addEps)
                        .orElseThrow(
                                () ->
                                        bad(
                                                "Add node '"
                                                        + addEps.label()
                                                        + "' of "
                                                        + name
                                                        + " does not add a constant epsilon"));
        OnnxNode variance = producer(eps.other(), "ReduceMean", name);
        OnnxNode square = producer(variance.inputs().get(0), "Pow", name);
        requireLastAxisMean(variance, square.outputs().get(0), name);
        Optional<OnnxTensor> two = g.constant(square.inputs().get(1));
        if (!square.inputs().get(0).equals(centered)
                || two.isEmpty()
                || two.get().size() != 1
                || two.get().dataType() != OnnxDataType.FLOAT
                || two.get().scalarFloat() != 2f) {
            throw bad("Pow node '" + square.label() + "' of " + name + " is not (x - mean)²");
        }
        return new LayerNormMatch(name, x, shift.outputs().get(0), eps.value());
    }

    private void requireLastAxisMean(OnnxNode mean, String input, String name)
            throws MalformedModelException {
        long[] axes = mean.attribute("axes").map(OnnxAttribute::ints).orElse(null);
        if (axes == null && mean.inputs().size() > 1) {
            axes = g.constant(mean.inputs().get(1)).map(OnnxTensor::longs).orElse(null);
        }
        boolean keepDims = mean.attribute("keepdims").map(OnnxAttribute::i).orElse(1L) != 0;
        if (!mean.inputs().get(0).equals(input)
                || axes == null
                || axes.length != 1
                || (axes[0] != -1 && axes[0] != 2)
                || !keepDims) {
            throw bad(
                    "ReduceMean node '"
                            + mean.label()
                            + "' of "
                            + name
                            + " does not average '"
                            + input
                            + "' over the last axis (axes "
                            + (axes == null ? "none" : Arrays.toString(axes))
                            + ')');
        }
    }

    private float commonEpsilon() throws MalformedModelException {
        Set<Float> values = new HashSet<>(epsilons.values());
        if (values.size() != 1) {
            throw bad("the LayerNorms use different epsilons: " + epsilons);
        }
        return values.iterator().next();
    }

    // ---------------------------------------------------------------- helpers

    private Map<String, BertCheckpoint.Weight> withoutPrefix(String prefix) {
        Map<String, BertCheckpoint.Weight> out = new LinkedHashMap<>();
        for (Map.Entry<String, BertCheckpoint.Weight> e : weights.entrySet()) {
            String key =
                    e.getKey().startsWith(prefix)
                            ? e.getKey().substring(prefix.length())
                            : e.getKey();
            out.put(key, e.getValue());
        }
        return out;
    }

    private void put(String prefix, String name, OnnxTensor tensor, boolean inByOut) {
        weights.put(prefix + name, new BertCheckpoint.Weight(tensor, inByOut));
    }

    private OnnxTensor requireMatrix(String name, int columns) throws MalformedModelException {
        OnnxTensor t =
                g.initializer(name).orElseThrow(() -> bad("missing initializer '" + name + '\''));
        requireFloat(t);
        long[] d = t.dims();
        if (d.length != 2 || d[0] <= 0 || (columns > 0 ? d[1] != columns : d[1] <= 0)) {
            throw bad(
                    "initializer '"
                            + name
                            + "' has shape "
                            + Arrays.toString(d)
                            + ", expected"
                            + " [rows, "
                            + (columns > 0 ? columns : "hidden")
                            + ']');
        }
        return t;
    }

    private OnnxTensor requireVector(String name, int length) throws MalformedModelException {
        OnnxTensor t =
                g.initializer(name).orElseThrow(() -> bad("missing initializer '" + name + '\''));
        requireFloat(t);
        if (!Arrays.equals(t.dims(), new long[] {length})) {
            throw bad(
                    "initializer '"
                            + name
                            + "' has shape "
                            + Arrays.toString(t.dims())
                            + ", expected ["
                            + length
                            + ']');
        }
        return t;
    }

    private void requireFloat(OnnxTensor t) throws MalformedModelException {
        if (t.dataType() != OnnxDataType.FLOAT) {
            throw bad("initializer '" + t.name() + "' is " + t.dataType() + ", expected FLOAT");
        }
    }

    /** The one consumer of a value, of an op type ({@code null}: any). */
    private OnnxNode consumer(String value, String op, String context)
            throws MalformedModelException {
        List<OnnxNode> all = g.consumers(value);
        List<OnnxNode> matching =
                op == null ? all : all.stream().filter(n -> n.opType().equals(op)).toList();
        if (matching.size() != 1) {
            throw bad(
                    context
                            + ": '"
                            + value
                            + "' is read by "
                            + labels(all)
                            + ", expected one "
                            + (op == null ? "node" : op + " node"));
        }
        return matching.get(0);
    }

    private OnnxNode producer(String value, String op, String context)
            throws MalformedModelException {
        Optional<OnnxNode> p = g.producer(value);
        if (p.isEmpty() || !p.get().opType().equals(op)) {
            throw bad(
                    context
                            + ": '"
                            + value
                            + "' is produced by "
                            + p.map(n -> "node '" + n.label() + "' (" + n.opType() + ')')
                                    .orElse("no node")
                            + ", expected a "
                            + op
                            + " node");
        }
        return p.get();
    }

    private void requireOp(OnnxNode n, String op, String context) throws MalformedModelException {
        if (!n.opType().equals(op)) {
            throw bad(context + ": node '" + n.label() + "' is " + n.opType() + ", expected " + op);
        }
    }

    private String other(OnnxNode binary, String known) throws MalformedModelException {
        List<String> in = binary.inputs();
        if (in.size() != 2 || !in.contains(known)) {
            throw bad(
                    "node '"
                            + binary.label()
                            + "' does not combine '"
                            + known
                            + "' with one value");
        }
        return in.get(0).equals(known) ? in.get(1) : in.get(0);
    }

    /** The consumers of a value that read its elements, not only its shape. */
    private List<OnnxNode> dataConsumers(String value) {
        return g.consumers(value).stream().filter(n -> !n.opType().equals("Shape")).toList();
    }

    private static OnnxNode single(List<OnnxNode> nodes) {
        return nodes.size() == 1 ? nodes.get(0) : null;
    }

    private int[] perm(OnnxNode transpose) throws MalformedModelException {
        long[] p = transpose.attribute("perm").map(OnnxAttribute::ints).orElse(null);
        if (p == null || p.length != 4) {
            throw bad("Transpose node '" + transpose.label() + "' has no 4-axis permutation");
        }
        return Arrays.stream(p).mapToInt(Math::toIntExact).toArray();
    }

    /** Axis i of the result of applying {@code first} then {@code then}. */
    private static int[] compose(int[] first, int[] then) {
        int[] out = new int[then.length];
        for (int i = 0; i < then.length; i++) {
            out[i] = first[then[i]];
        }
        return out;
    }

    /**
     * A shape tensor's entries where they are constants ({@code null} entries are computed at run
     * time); {@code null} when the shape is not a constant or a concatenation of constants and
     * one-element run-time values.
     */
    private List<Long> partialShape(String value) {
        Optional<OnnxTensor> c = g.constant(value);
        if (c.isPresent()) {
            try {
                return Arrays.stream(c.get().longs()).boxed().collect(Collectors.toList());
            } catch (IllegalStateException e) {
                return null;
            }
        }
        Optional<OnnxNode> p = g.producer(value);
        if (p.isEmpty() || !p.get().opType().equals("Concat")) {
            return null;
        }
        List<Long> out = new ArrayList<>();
        for (String in : p.get().inputs()) {
            Optional<OnnxTensor> part = g.constant(in);
            if (part.isPresent()) {
                try {
                    for (long v : part.get().longs()) {
                        out.add(v);
                    }
                } catch (IllegalStateException e) {
                    return null;
                }
            } else if (g.producer(in).map(n -> n.opType().equals("Unsqueeze")).orElse(false)) {
                out.add(null); // a run-time scalar made one-element, e.g. the batch size
            } else {
                return null;
            }
        }
        return out;
    }

    private static boolean close(float value, double expected) {
        return Math.abs(value - expected) <= 1e-6 * Math.abs(expected);
    }

    private static String labels(List<OnnxNode> nodes) {
        if (nodes.isEmpty()) {
            return "no node";
        }
        return nodes.stream()
                .map(n -> "'" + n.label() + "' (" + n.opType() + ')')
                .collect(Collectors.joining(", "));
    }

    private static MalformedModelException bad(String message) {
        return new MalformedModelException("not a BERT encoder: " + message);
    }

    @FunctionalInterface
    private interface ValueTest {
        boolean test(String value);
    }

    private record LinearMatch(
            OnnxNode matMul, OnnxTensor weight, OnnxTensor bias, String input, String output) {}

    private record LayerNormMatch(String name, String input, String output, float eps) {}

    private record HeadSplit(OnnxNode reshape, int heads, String value, int[] perm) {}

    private record Attention(int heads, OnnxNode split, String maskBias, String context) {}
}
