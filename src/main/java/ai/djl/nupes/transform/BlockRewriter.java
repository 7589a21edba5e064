package ai.djl.nupes.transform;

import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.BlockList;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;

/**
 * The one place that swaps a child inside a DJL block.
 *
 * <p>DJL offers no way to replace a child: {@code getChildren()} returns a copy and {@code
 * SequentialBlock}/{@code ParallelBlock} have no setter. So this class reaches, by reflection, into
 * {@code AbstractBlock.children} (the ordered name → block list that containers iterate) and into
 * every field of the parent that holds the same child object (blocks such as DJL's attention block
 * call their children through typed fields, not through the list). Nothing else in the project uses
 * reflection on DJL internals.
 */
public final class BlockRewriter {

    private static final Field CHILDREN;

    static {
        try {
            CHILDREN = AbstractBlock.class.getDeclaredField("children");
            CHILDREN.setAccessible(true);
        } catch (NoSuchFieldException e) {
            throw new ExceptionInInitializerError(
                    "this DJL version has no AbstractBlock.children field: " + e.getMessage());
        }
    }

    private BlockRewriter() {}

    /**
     * Replaces {@code oldChild}, registered in {@code parent} under {@code childName}, by {@code
     * newChild}: in the parent's child list (same position, same name) and in every field of the
     * parent that references it.
     *
     * @param parent the parent block
     * @param childName the child's name in the parent's child list
     * @param oldChild the child now there
     * @param newChild its replacement
     * @param path the child's path, named in errors
     * @throws IllegalStateException when the parent is not an {@link AbstractBlock}, the child is
     *     not where it should be, or a field of the parent cannot hold the replacement; nothing is
     *     changed in that case
     */
    public static void replaceChild(
            Block parent, String childName, Block oldChild, Block newChild, String path) {
        if (!(parent instanceof AbstractBlock)) {
            throw new IllegalStateException(
                    "cannot wrap layer '" + path + "': its parent " + parent.getClass().getName()
                            + " is not an AbstractBlock, so its children cannot be replaced");
        }
        BlockList children = childrenOf((AbstractBlock) parent);
        int index = children.indexOf(childName);
        if (index < 0 || children.valueAt(index) != oldChild) {
            throw new IllegalStateException(
                    "cannot wrap layer '" + path + "': it is not registered as child '" + childName
                            + "' of " + parent.getClass().getName());
        }
        // check every referencing field before changing anything
        java.util.List<Field> fields = referencingFields(parent, oldChild);
        for (Field f : fields) {
            if (!f.getType().isInstance(newChild)) {
                throw new IllegalStateException(
                        "cannot wrap layer '" + path + "': " + parent.getClass().getName() + '.'
                                + f.getName() + " holds it as " + f.getType().getName()
                                + ", which a " + newChild.getClass().getSimpleName()
                                + " is not; exclude this layer from quantization");
            }
        }
        children.remove(index);
        children.add(index, childName, newChild);
        for (Field f : fields) {
            try {
                f.set(parent, newChild);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(
                        "cannot update field " + f.getName() + " for layer '" + path + '\'', e);
            }
        }
    }

    private static BlockList childrenOf(AbstractBlock block) {
        try {
            return (BlockList) CHILDREN.get(block);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot read AbstractBlock.children", e);
        }
    }

    private static java.util.List<Field> referencingFields(Block parent, Block child) {
        java.util.List<Field> found = new java.util.ArrayList<>();
        for (Class<?> c = parent.getClass();
                c != null && c != AbstractBlock.class;
                c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) {
                    continue;
                }
                try {
                    f.setAccessible(true);
                    if (f.get(parent) == child) {
                        found.add(f);
                    }
                } catch (IllegalAccessException | RuntimeException e) {
                    throw new IllegalStateException(
                            "cannot inspect field " + c.getName() + '.' + f.getName()
                                    + " while replacing a child",
                            e);
                }
            }
        }
        return found;
    }
}
