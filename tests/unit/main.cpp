#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdlib>

int main(int argc, char* argv[]) {
  // Defaults for running the binary by hand; CTest and the caller's environment win.
  ::setenv("DNNFI_SHARED", DNNFI_TEST_SHARED_DIR, 0);
  ::setenv("DNNFI_HOME", DNNFI_TEST_HOME, 0);
  ::setenv("DNNFI_WEIGHTS_DIR", DNNFI_TEST_SHARED_DIR "/weights", 0);
  ::setenv("DNNFI_DATA_DIR", DNNFI_TEST_SHARED_DIR "/data", 0);
  // The test binary does not sit beside share/dnnfi; point it at the build tree's copy.
  ::setenv("DNNFI_SCRIPTS_DIR", DNNFI_TEST_SCRIPTS_DIR, 0);
  return Catch::Session().run(argc, argv);
}
