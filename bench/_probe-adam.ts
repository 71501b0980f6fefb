import { DEFAULT_ONEDNN_ADDON_PATH, loadOneDnnAddon } from "../src/training/kernels/onednn-addon.js";
const { addon } = loadOneDnnAddon(DEFAULT_ONEDNN_ADDON_PATH, 2);
const n = 2359296;
const mk = () => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = Math.random(); return a; };
const [p, g, v, s, po, vo, so] = [mk(), mk(), mk(), mk(), mk(), mk(), mk()];
const hyper = new Float64Array([0.9, 0.1, 0.999, 0.001, 0.1, 0.001, 0.001, 1e-7]);
for (const label of ["out-of-place", "in-place"]) {
  const args = [p, g, v, s, po, vo, so];
  for (let i = 0; i < 5; i++) (addon as any).adamStep(...args, hyper);
  const t = performance.now();
  for (let i = 0; i < 20; i++) (addon as any).adamStep(...args, hyper);
  console.log(label, ((performance.now() - t) / 20).toFixed(2), "ms for", n, "elements");
}
const t = performance.now();
for (let i = 0; i < 20; i++) po.set(p);
console.log("memcpy", ((performance.now() - t) / 20).toFixed(2));
