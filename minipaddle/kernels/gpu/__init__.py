"""GPU-only kernels, imported lazily by the GPU backend and never by the CPU code: cuDNN
convolutions through NVIDIA's cuDNN Frontend (:mod:`.cudnn`)."""
