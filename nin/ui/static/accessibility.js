// Names and roles that Gradio 6.31's own components leave out, added from the page (nin/ui/assets.py reads
// this file into the page's script, inside its function: `IMAGE_NAMES` is defined there). axe-core, run by
// tests/test_a11y.py, reports each of these as a serious or critical WCAG 2.1 violation otherwise.
// Called after every change of the page (at most once a frame); each step is a no-op once done.
function nameWhatGradioLeavesUnnamed() {
  // The example galleries' buttons hold only a thumbnail without alt text (Gradio's Dataset): each is named
  // after its file, e.g. "Example: ankle boot (official test image)".
  document.querySelectorAll('#examples button.gallery-item:not([aria-label])').forEach((button) => {
    const img = button.querySelector('img');
    const file = img ? decodeURIComponent((img.getAttribute('src') || '').split('/').pop()) : '';
    const match = /^(test|photo)\d+_([a-z-]+)\./.exec(file);
    if (!match) return;
    const kind = match[1] === 'test' ? 'official test image' : 'product photo';
    button.setAttribute('aria-label', 'Example: ' + match[2].replace(/-/g, ' ') + ' (' + kind + ')');
  });
  // An image output wraps its picture in a button (for select events) with no text and an <img alt="">.
  document.querySelectorAll('.image-container > button:not([aria-label])').forEach((button) => {
    const block = button.closest('[id]');
    const label = block && block.querySelector('[data-testid="block-label"]');
    const name = (block && IMAGE_NAMES[block.id]) || (label && label.textContent.trim()) || 'Picture';
    button.setAttribute('aria-label', name);
  });
  // An empty image output is a div with aria-label="Empty value" and no role, which ARIA does not allow:
  // as an image it keeps its label.
  document.querySelectorAll('div.empty[aria-label]:not([role])').forEach((div) => div.setAttribute('role', 'img'));
}
