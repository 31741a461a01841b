// For gr.HTML(js_on_load=...): a click on a class-map cell fires the component's `select` event with
// index [class, row, col], so `def handler(evt: gr.SelectData)` gets evt.index.
element.addEventListener('click', (e) => {
  const td = e.target.closest('td[data-cell]');
  if (!td) return;
  trigger('select', {index: td.dataset.cell.split(',').map(Number), value: td.dataset.cell});
});
