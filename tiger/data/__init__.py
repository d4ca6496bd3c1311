"""TIGeR data: DexYCB and ObMan loaders in their real layouts, the synthetic DexYCB-like scenes, the model dataset."""
