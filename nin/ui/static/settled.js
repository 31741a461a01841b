() => {
  // After each full explanation of a drawing (in the browser, no request): the pictures below are of the drawing
  // on screen again, unless the pen has moved since.
  const root = document.querySelector('#canvas .nin-cv');
  if (root && root.ninSettled && root.ninSettled()) delete document.body.dataset.ninDrawing;
}
