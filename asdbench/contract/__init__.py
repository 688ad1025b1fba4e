"""The plugin contract: what each kind of component is (protocols, option constraints), the registry that
loads plugins and builds their components, the checks at every call into a plugin, and `plugins --check`."""
