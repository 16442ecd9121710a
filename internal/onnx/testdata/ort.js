// ort.js runs an ONNX model with onnxruntime-node and prints its output as JSON, for
// the Go test of the exporter (runtime_test.go):
//
//	node ort.js model.onnx input.f32 N D [disabled]
//
// "disabled" turns off the graph optimizations, so the model runs operator by operator
// as the ONNX specification defines them (a QDQ graph in float arithmetic) instead of
// fused into onnxruntime's integer kernels.
// input.f32 holds N·D little-endian float32 values, fed as the input "pixels" [N D].
// The output "scores" is printed as {"dims": [...], "type": "float32", "data": [...]}.
// onnxruntime-node is found through NODE_PATH.
'use strict';

const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [modelPath, inputPath, n, d, opt] = process.argv.slice(2);
  const buf = fs.readFileSync(inputPath);
  // Copy: a Buffer's offset in its ArrayBuffer need not be a multiple of 4.
  const x = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const options = opt === 'disabled' ? { graphOptimizationLevel: 'disabled' } : {};
  const session = await ort.InferenceSession.create(modelPath, options);
  const out = await session.run({ pixels: new ort.Tensor('float32', x, [Number(n), Number(d)]) });
  const scores = out.scores;
  process.stdout.write(JSON.stringify({
    inputs: session.inputNames,
    outputs: session.outputNames,
    dims: scores.dims,
    type: scores.type,
    data: Array.from(scores.data),
  }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
