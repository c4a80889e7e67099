/*
 * Loads an image classifier (.attnmodel of the vit family) and classifies one
 * image given as raw float32 pixels [C, H, W] in a file, or a constant grey
 * image when no file is given. Prints the winning class and its logit.
 *
 *   classify MODEL.attnmodel [IMAGE.f32]
 */
#include <attn/attn.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char* what, attn_status status) {
  fprintf(stderr, "classify: %s failed (status %d): %s\n", what, (int)status, attn_last_error_message());
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: classify MODEL.attnmodel [IMAGE.f32]\n");
    return 2;
  }
  attn_model* model = NULL;
  attn_status status = attn_model_load_file(argv[1], &model);
  if (status != ATTN_OK) return fail("loading the model", status);

  attn_tensor_info input;
  attn_tensor_info output;
  if ((status = attn_model_input_info(model, 0, &input)) != ATTN_OK ||
      (status = attn_model_output_info(model, 0, &output)) != ATTN_OK) {
    attn_model_release(model);
    return fail("reading the model's inputs", status);
  }
  if (input.dtype != ATTN_DTYPE_F32 || input.rank != 3 || output.rank != 1) {
    fprintf(stderr, "classify: %s is not an image classifier\n", argv[1]);
    attn_model_release(model);
    return 1;
  }
  size_t pixels = (size_t)(input.shape[0] * input.shape[1] * input.shape[2]);
  size_t classes = (size_t)output.shape[0];
  float* image = malloc(pixels * sizeof(float));
  float* logits = malloc(classes * sizeof(float));
  if (!image || !logits) {
    fprintf(stderr, "classify: out of memory\n");
    return 1;
  }
  for (size_t i = 0; i < pixels; ++i) image[i] = 0.5f;
  if (argc == 3) {
    FILE* f = fopen(argv[2], "rb");
    size_t got = f ? fread(image, sizeof(float), pixels, f) : 0;
    if (f) fclose(f);
    if (got != pixels) {
      fprintf(stderr, "classify: %s does not hold %zu float32 pixels\n", argv[2], pixels);
      return 1;
    }
  }

  attn_session* session = NULL;
  int rc = 0;
  if ((status = attn_session_create(model, NULL, &session)) != ATTN_OK) {
    rc = fail("preparing the session", status);
  } else if ((status = attn_session_set_input(session, 0, image, pixels * sizeof(float), input.shape, 3)) != ATTN_OK) {
    rc = fail("setting the input", status);
  } else if ((status = attn_session_run(session)) != ATTN_OK) {
    rc = fail("running", status);
  } else if ((status = attn_session_get_output(session, 0, logits, classes * sizeof(float))) != ATTN_OK) {
    rc = fail("reading the output", status);
  } else {
    size_t best = 0;
    for (size_t c = 1; c < classes; ++c)
      if (logits[c] > logits[best]) best = c;
    printf("class %zu (logit %.6f)\n", best, logits[best]);
  }
  attn_session_release(session);
  attn_model_release(model);
  free(image);
  free(logits);
  return rc;
}
