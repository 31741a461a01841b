// For gr.HTML(js_on_load=...): hovering (or tapping) a picture with data-values prints the value under the
// pointer in its figure's .nin-readout; the values travel as one JSON list, not as thousands of elements.
const show = (e) => {
  const img = e.target.closest('img[data-values]');
  if (!img) return;
  const rect = img.getBoundingClientRect();
  const side = Number(img.dataset.side);
  if (!img._values) img._values = JSON.parse(img.dataset.values);
  const col = Math.max(0, Math.min(side - 1, Math.floor((e.clientX - rect.left) / rect.width * side)));
  const row = Math.max(0, Math.min(side - 1, Math.floor((e.clientY - rect.top) / rect.height * side)));
  const out = img.closest('figure').querySelector('.nin-readout');
  if (out) out.textContent = `row ${row}, column ${col}: ${img._values[row * side + col]}`;
};
element.addEventListener('mousemove', show);
element.addEventListener('click', show);
