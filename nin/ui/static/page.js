// The page's own script: small fixes to how Gradio 6.31 lays out the page (what each part does: nin/ui/assets.py).
// The body of the function Gradio calls once the page is mounted; nin/ui/assets.py puts it, with accessibility.js,
// inside `() => { const PAGE_CONFIG = {...}; ... }`, PAGE_CONFIG being the page's values as JSON.
  const IMAGE_NAMES = PAGE_CONFIG.imageNames;  // read by accessibility.js, below
  // 1. Wide tables: mark which side has more to see (CSS fades that edge).
  const SCROLLERS = '.nin-scroll, .nin-cm-wrap';
  function markScroll(el) {
    // Scrolled sideways from the keyboard too: a region that scrolls must be focusable (WCAG 2.1.1).
    if (el.scrollWidth > el.clientWidth + 1 && !el.hasAttribute('tabindex')) el.setAttribute('tabindex', '0');
    const left = el.scrollLeft > 1, right = el.scrollLeft + el.clientWidth < el.scrollWidth - 1;
    const more = left && right ? 'both' : left ? 'left' : right ? 'right' : '';
    if ((el.dataset.ninMore || '') !== more) el.dataset.ninMore = more;
  }
  const markAll = () => document.querySelectorAll(SCROLLERS).forEach(markScroll);
  document.addEventListener('scroll', (e) => {
    if (e.target instanceof Element && e.target.matches(SCROLLERS)) markScroll(e.target);
  }, true);
  window.addEventListener('resize', markAll);

  // Once per frame at most, after the page changed (Gradio re-renders).
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; markAll(); nameWhatGradioLeavesUnnamed(); });
  }).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['class']});
  nameWhatGradioLeavesUnnamed();

  // 2. After an example is picked, show it in the Upload tab and bring the prediction into view unless it is
  //    near the top of the screen.
  document.addEventListener('click', (e) => {
    if (!(e.target instanceof Element) || !e.target.closest('#examples button')) return;
    const uploadTab = document.getElementById('tab-upload-button');
    if (uploadTab && uploadTab.getAttribute('aria-selected') !== 'true') {
      forExample = true;  // the example itself becomes the input: the tab's own "show the upload" is not sent
      try { uploadTab.click(); } finally { forExample = false; }
    }
    // The Prediction box shows once the Upload tab has been drawn: wait for it a few frames at most.
    const bring = (frames) => {
      const prediction = document.getElementById('prediction');
      if (!prediction) return;
      if (prediction.offsetParent === null) {
        if (frames > 0) requestAnimationFrame(() => bring(frames - 1));
        return;
      }
      const top = prediction.getBoundingClientRect().top;
      if (top < 0 || top > window.innerHeight / 2) prediction.scrollIntoView({behavior: 'smooth', block: 'start'});
    };
    bring(60);
  }, true);

  // 3. The user opened the Upload tab: its picture (or its emptiness) is the page's input again.
  let forExample = false;
  document.addEventListener('click', (e) => {
    if (forExample || !(e.target instanceof Element) || !e.target.closest('#tab-upload-button')) return;
    const shown = document.getElementById('upload-shown');
    if (shown) shown.click();
  });

  // 4. Names Gradio leaves out (the function, from accessibility.js, runs after every change of the page).
