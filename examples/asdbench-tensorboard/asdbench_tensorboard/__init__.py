"""An example asdbench tracker plugin: TensorBoard event files, written through the lifecycle hooks."""
