// Torch binding of the CUDA denominator kernels: module `ctc_crf._den_cuda`, built only when the
// installed torch has CUDA. Same function and semantics as `ctc_crf._den_cpu.forward_backward`,
// for CUDA tensors (all on one device); runs on the current stream of that device.

#include <torch/extension.h>

#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>

#include <limits>
#include <string>

#include "den_cuda.h"

namespace {

torch::Tensor prep(const torch::Tensor& x, const char* name, int64_t numel, const at::Device& dev,
                   bool is_index, torch::ScalarType want) {
  TORCH_CHECK(x.device() == dev, "den forward_backward (CUDA): `", name,
              "` must be on the device of log_probs (", dev, "), got ", x.device());
  if (is_index) {
    TORCH_CHECK(x.scalar_type() == torch::kInt32 || x.scalar_type() == torch::kInt64,
                "den forward_backward (CUDA): `", name, "` must be int32 or int64, got ",
                x.scalar_type());
  } else {
    TORCH_CHECK(x.scalar_type() == want, "den forward_backward (CUDA): `", name,
                "` must have the dtype of log_probs (", want, "), got ", x.scalar_type());
  }
  TORCH_CHECK(x.dim() == 1 && x.numel() == numel, "den forward_backward (CUDA): `", name,
              "` must be 1-D of size ", numel, ", got shape ", x.sizes());
  return x.to(want).contiguous();
}

std::tuple<torch::Tensor, torch::Tensor> forward_backward(
    const torch::Tensor& log_probs, const torch::Tensor& input_lengths, const torch::Tensor& in_ptr,
    const torch::Tensor& in_src, const torch::Tensor& in_logw, const torch::Tensor& out_ptr,
    const torch::Tensor& out_dst, const torch::Tensor& out_logw, const torch::Tensor& state_label,
    const torch::Tensor& final_logw, int64_t start) {
  const at::NoGradGuard no_grad;  // plain tensor math here, never part of a graph
  TORCH_CHECK(log_probs.is_cuda(), "den forward_backward (CUDA): `log_probs` must be a CUDA tensor");
  TORCH_CHECK(log_probs.dim() == 3,
              "den forward_backward (CUDA): `log_probs` must be (N, T, V), got shape ",
              log_probs.sizes());
  const auto dt = log_probs.scalar_type();
  TORCH_CHECK(dt == torch::kFloat32 || dt == torch::kFloat64,
              "den forward_backward (CUDA): `log_probs` must be float32 or float64, got ", dt);
  const int64_t N = log_probs.size(0), T = log_probs.size(1), V = log_probs.size(2);
  TORCH_CHECK(N >= 1 && T >= 1 && V >= 1, "den forward_backward (CUDA): `log_probs` is empty: ",
              log_probs.sizes());
  TORCH_CHECK(in_ptr.dim() == 1 && in_ptr.numel() >= 2,
              "den forward_backward (CUDA): `in_ptr` must be 1-D of size S+1 >= 2, got shape ",
              in_ptr.sizes());
  const int64_t S = in_ptr.numel() - 1, A = in_src.numel();
  TORCH_CHECK(S < (int64_t)std::numeric_limits<int32_t>::max(),
              "den forward_backward (CUDA): too many states for int32 indices: ", S);
  TORCH_CHECK(start >= 0 && start < S, "den forward_backward (CUDA): `start` must be a state in [0, ",
              S, "), got ", start);

  const at::Device dev = log_probs.device();
  const c10::cuda::CUDAGuard guard(dev);
  auto lp = log_probs.contiguous();
  auto lens = prep(input_lengths, "input_lengths", N, dev, true, torch::kInt64);
  auto iptr = prep(in_ptr, "in_ptr", S + 1, dev, true, torch::kInt64);
  auto isrc = prep(in_src, "in_src", A, dev, true, torch::kInt32);
  auto iw = prep(in_logw, "in_logw", A, dev, false, dt);
  auto optr = prep(out_ptr, "out_ptr", S + 1, dev, true, torch::kInt64);
  auto odst = prep(out_dst, "out_dst", A, dev, true, torch::kInt32);
  auto ow = prep(out_logw, "out_logw", A, dev, false, dt);
  auto lab = prep(state_label, "state_label", S, dev, true, torch::kInt32);
  auto fw = prep(final_logw, "final_logw", S, dev, false, dt);

  const size_t elem = dt == torch::kFloat64 ? sizeof(double) : sizeof(float);
  const size_t ws_bytes = ctc_crf_den::cuda_workspace_bytes(N, T, S, A, elem);
  auto ws = torch::empty({(int64_t)ws_bytes}, lp.options().dtype(torch::kUInt8));
  auto log_z = torch::empty({N}, lp.options());
  auto grad = torch::empty({N, T, V}, lp.options());
  cudaStream_t stream = c10::cuda::getCurrentCUDAStream(dev.index()).stream();

  const int bad = ctc_crf_den::cuda_validate(
      lens.data_ptr<int64_t>(), N, T, V, iptr.data_ptr<int64_t>(), isrc.data_ptr<int32_t>(),
      optr.data_ptr<int64_t>(), odst.data_ptr<int32_t>(), lab.data_ptr<int32_t>(), S, A,
      ws.data_ptr(), stream);
  TORCH_CHECK(bad >= 0, "den forward_backward (CUDA): ", ctc_crf_den::cuda_error_string(-1 - bad));
  TORCH_CHECK(!(bad & ctc_crf_den::kBadLengths),
              "den forward_backward (CUDA): `input_lengths` must lie in [1, ", T, "]");
  TORCH_CHECK(!(bad & ctc_crf_den::kBadLabels),
              "den forward_backward (CUDA): `state_label` must lie in [0, ", V,
              ") (V = log_probs.size(2)), or be -1 for a state never entered");
  TORCH_CHECK(!(bad & ctc_crf_den::kBadInSrc),
              "den forward_backward (CUDA): `in_src` holds a state index out of [0, ", S, ")");
  TORCH_CHECK(!(bad & ctc_crf_den::kBadOutDst),
              "den forward_backward (CUDA): `out_dst` holds a state index out of [0, ", S, ")");
  TORCH_CHECK(!(bad & ctc_crf_den::kBadInPtr), "den forward_backward (CUDA): `in_ptr` must run "
              "non-decreasing from 0 to ", A, " (the number of arcs)");
  TORCH_CHECK(!(bad & ctc_crf_den::kBadOutPtr), "den forward_backward (CUDA): `out_ptr` must run "
              "non-decreasing from 0 to ", A, " (the number of arcs)");

  int err = 0;
  if (dt == torch::kFloat64) {
    err = ctc_crf_den::cuda_forward_backward(
        lp.data_ptr<double>(), lens.data_ptr<int64_t>(), N, T, V, iptr.data_ptr<int64_t>(),
        isrc.data_ptr<int32_t>(), iw.data_ptr<double>(), optr.data_ptr<int64_t>(),
        odst.data_ptr<int32_t>(), ow.data_ptr<double>(), lab.data_ptr<int32_t>(),
        fw.data_ptr<double>(), start, S, A, log_z.data_ptr<double>(), grad.data_ptr<double>(),
        ws.data_ptr(), stream);
  } else {
    err = ctc_crf_den::cuda_forward_backward(
        lp.data_ptr<float>(), lens.data_ptr<int64_t>(), N, T, V, iptr.data_ptr<int64_t>(),
        isrc.data_ptr<int32_t>(), iw.data_ptr<float>(), optr.data_ptr<int64_t>(),
        odst.data_ptr<int32_t>(), ow.data_ptr<float>(), lab.data_ptr<int32_t>(),
        fw.data_ptr<float>(), start, S, A, log_z.data_ptr<float>(), grad.data_ptr<float>(),
        ws.data_ptr(), stream);
  }
  TORCH_CHECK(err == 0, "den forward_backward (CUDA): kernel launch failed: ",
              ctc_crf_den::cuda_error_string(err));
  return {log_z, grad};
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "CTC-CRF denominator forward-backward, CUDA kernel";
  m.def("forward_backward", &forward_backward, py::call_guard<py::gil_scoped_release>(),
        "(log_probs, input_lengths, in_ptr, in_src, in_logw, out_ptr, out_dst, out_logw, "
        "state_label, final_logw, start) -> (log_z (N,), grad (N,T,V)) for CUDA tensors; see "
        "ctc_crf._den_cpu.forward_backward.",
        py::arg("log_probs"), py::arg("input_lengths"), py::arg("in_ptr"), py::arg("in_src"),
        py::arg("in_logw"), py::arg("out_ptr"), py::arg("out_dst"), py::arg("out_logw"),
        py::arg("state_label"), py::arg("final_logw"), py::arg("start"));
}
