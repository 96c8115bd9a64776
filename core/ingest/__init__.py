"""Getting data in: file readers, the importer, the deterministic demo generator."""
