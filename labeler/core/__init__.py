"""Qt-free core: document model, schemas, geometry, history and project storage."""
