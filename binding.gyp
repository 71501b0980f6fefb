{
  "targets": [
    {
      "target_name": "lossline_onednn",
      "sources": [
        "native/addon.cc",
        "native/convolution.cc",
        "native/filter-layout.cc",
        "native/matmul.cc",
        "native/pooling.cc",
        "native/elementwise.cc",
        "native/optimizer.cc",
        "native/batch-norm-training.cc",
        "native/copy.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fexceptions", "-fopenmp"],
      "ldflags": ["-fopenmp"],
      "libraries": ["-ldnnl"]
    }
  ]
}
