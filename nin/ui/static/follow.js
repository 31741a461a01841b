() => {
  // A new input: the browser asks for a refresh only while this tab is on screen (no request otherwise).
  const panel = document.querySelector('#tab-explore');
  if (panel && panel.offsetParent !== null) document.querySelector('#explore-refresh')?.click();
}
