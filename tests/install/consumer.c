/*
 * A program built against an installed attn: runs every sample embedded in a
 * model (attn-convert --embed-sample, whose expected outputs come from the
 * converter's float64 reference) and checks each output against the
 * numerical contract, max|y - y_ref| <= 1e-4 * max(1, max|y_ref|).
 *
 *   consumer MODEL.attnmodel      exit 0: every sample passed
 */
#include <attn/attn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char* what, attn_status status) {
  fprintf(stderr, "consumer: %s failed (status %d): %s\n", what, (int)status, attn_last_error_message());
  return 1;
}

static size_t element_count(const attn_tensor_info* info) {
  size_t count = 1;
  for (size_t d = 0; d < info->rank; ++d) count *= (size_t)info->shape[d];
  return count;
}

static int check_sample(attn_model* model, attn_session* session, size_t sample) {
  attn_tensor_info in_info, ref_info, out_info;
  const void* in_data;
  const void* ref_data;
  attn_status status;
  if ((status = attn_model_sample_input(model, sample, 0, &in_info, &in_data)) != ATTN_OK)
    return fail("reading a sample input", status);
  if ((status = attn_model_sample_output(model, sample, 0, &ref_info, &ref_data)) != ATTN_OK)
    return fail("reading a sample output", status);
  if ((status = attn_session_set_input(session, 0, in_data, element_count(&in_info) * 4, in_info.shape,
                                       in_info.rank)) != ATTN_OK)
    return fail("setting the input", status);
  if ((status = attn_session_run(session)) != ATTN_OK) return fail("running", status);
  if ((status = attn_session_output_info(session, 0, &out_info)) != ATTN_OK) return fail("output info", status);
  const size_t count = element_count(&out_info);
  if (count != element_count(&ref_info)) {
    fprintf(stderr, "consumer: sample %zu: %zu outputs, expected %zu\n", sample, count, element_count(&ref_info));
    return 1;
  }
  float* out = malloc(count * sizeof(float));
  if (!out) return 1;
  if ((status = attn_session_get_output(session, 0, out, count * sizeof(float))) != ATTN_OK) {
    free(out);
    return fail("reading the output", status);
  }
  const float* ref = ref_data;
  double scale = 1, worst = 0;
  for (size_t i = 0; i < count; ++i) scale = fmax(scale, fabs(ref[i]));
  for (size_t i = 0; i < count; ++i) worst = fmax(worst, fabs((double)out[i] - ref[i]));
  free(out);
  printf("sample %zu: max error %.3g, tolerance %.3g\n", sample, worst, 1e-4 * scale);
  return worst <= 1e-4 * scale ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: consumer MODEL.attnmodel\n");
    return 2;
  }
  printf("attn %s, %s kernels\n", attn_version(), attn_kernel_path());
  attn_model* model = NULL;
  attn_status status = attn_model_load_file(argv[1], &model);
  if (status != ATTN_OK) return fail("loading the model", status);
  size_t samples = 0;
  attn_session* session = NULL;
  int rc = 0;
  if ((status = attn_model_sample_count(model, &samples)) != ATTN_OK || samples == 0) {
    fprintf(stderr, "consumer: %s has no embedded samples\n", argv[1]);
    rc = 1;
  } else if ((status = attn_session_create(model, NULL, &session)) != ATTN_OK) {
    rc = fail("preparing the session", status);
  } else {
    for (size_t s = 0; s < samples && rc == 0; ++s) rc = check_sample(model, session, s);
  }
  attn_session_release(session);
  attn_model_release(model);
  return rc;
}
