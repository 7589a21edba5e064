package ai.djl.nupes.zoo;

import ai.djl.repository.zoo.ModelZoo;
import ai.djl.repository.zoo.ZooProvider;

/** Registers {@link NupesModelZoo} with DJL through {@code ServiceLoader}. */
public final class NupesZooProvider implements ZooProvider {

    /** {@inheritDoc} */
    @Override
    public ModelZoo getModelZoo() {
        return new NupesModelZoo();
    }
}
