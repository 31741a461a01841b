// For gr.HTML(js_on_load=...): a click (or Enter) on a matrix cell fires the component's `select` event with
// index [true, predicted], so `def handler(evt: gr.SelectData)` gets evt.index. Check it in a browser test.
const pick = (e) => {
  const td = e.target.closest('td[data-true]');
  if (!td || (e.type === 'keydown' && e.key !== 'Enter')) return;
  trigger('select', {index: [Number(td.dataset.true), Number(td.dataset.pred)], value: td.id});
};
element.addEventListener('click', pick);
element.addEventListener('keydown', pick);
