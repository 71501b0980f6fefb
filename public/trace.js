// Draws an optimization run's iterates over its objective, as the book does: over the curve for
// 1-D functions, over a shaded contour map for 2-D ones. `grid` is GET /v1/objectives/:name/grid.

/** Maps data coordinates to the canvas, with a margin for labels. */
function frame(canvas, xRange, yRange) {
  const margin = 36;
  const width = canvas.width - 2 * margin;
  const height = canvas.height - 2 * margin;
  return {
    x: (value) => margin + ((value - xRange[0]) / (xRange[1] - xRange[0])) * width,
    y: (value) => margin + height - ((value - yRange[0]) / (yRange[1] - yRange[0])) * height,
    margin,
    width,
    height,
  };
}

function drawAxes(context, canvas, xRange, yRange, view) {
  context.strokeStyle = "#9aa1b1";
  context.strokeRect(view.margin, view.margin, view.width, view.height);
  context.fillStyle = "#6b7385";
  context.font = "11px system-ui";
  context.fillText(xRange[0].toPrecision(3), view.margin, canvas.height - 12);
  context.fillText(xRange[1].toPrecision(3), view.margin + view.width - 24, canvas.height - 12);
  context.fillText(yRange[1].toPrecision(3), 2, view.margin + 4);
  context.fillText(yRange[0].toPrecision(3), 2, view.margin + view.height);
}

function drawPath(context, view, coordinates) {
  context.beginPath();
  context.rect(view.margin, view.margin, view.width, view.height);
  context.clip(); // iterates beyond the plotted range leave the frame instead of covering the labels
  context.strokeStyle = "#d9480f";
  context.fillStyle = "#d9480f";
  context.lineWidth = 1.5;
  context.beginPath();
  coordinates.forEach(([a, b], i) => (i === 0 ? context.moveTo(view.x(a), view.y(b)) : context.lineTo(view.x(a), view.y(b))));
  context.stroke();
  for (const [a, b] of coordinates) {
    context.beginPath();
    context.arc(view.x(a), view.y(b), 3, 0, 2 * Math.PI);
    context.fill();
  }
}

export function drawTrace(canvas, objective, grid, points) {
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.save();
  try {
    draw(context, canvas, objective, grid, points);
  } finally {
    context.restore();
  }
}

function draw(context, canvas, objective, grid, points) {
  const xRange = [grid.x[0], grid.x[grid.x.length - 1]];
  if (objective.dim === 1) {
    const values = grid.f.filter((value) => value !== null);
    const low = Math.min(...values);
    const yRange = [low, Math.max(...values, low + 1e-9)]; // a flat curve still gets a range
    const view = frame(canvas, xRange, yRange);
    drawAxes(context, canvas, xRange, yRange, view);
    context.strokeStyle = "#2f6fde";
    context.beginPath();
    let drawing = false; // where f overflowed (null) the curve has a gap
    grid.x.forEach((x, i) => {
      const value = grid.f[i];
      if (value === null) return void (drawing = false);
      if (drawing) context.lineTo(view.x(x), view.y(value));
      else context.moveTo(view.x(x), view.y(value));
      drawing = true;
    });
    context.stroke();
    drawPath(context, view, points.map((point) => [point.x[0], point.value]));
    return;
  }
  const yRange = [grid.y[0], grid.y[grid.y.length - 1]];
  const view = frame(canvas, xRange, yRange);
  const flat = grid.f.flat().filter((value) => value !== null);
  const low = Math.min(...flat);
  const high = Math.max(...flat);
  const cellWidth = view.width / grid.x.length + 1;
  const cellHeight = view.height / grid.y.length + 1;
  grid.y.forEach((y, j) =>
    grid.x.forEach((x, i) => {
      const value = grid.f[j][i];
      // Shaded by log level, with bands every tenth of the range: a contour map without iso-lines.
      const level = value === null || high === low ? 1 : Math.log1p(value - low) / Math.log1p(high - low);
      const band = Math.floor(level * 10) / 10;
      context.fillStyle = `hsl(${220 - band * 180}, 60%, ${88 - band * 30}%)`;
      context.fillRect(view.x(x) - cellWidth / 2, view.y(y) - cellHeight / 2, cellWidth, cellHeight);
    }),
  );
  drawAxes(context, canvas, xRange, yRange, view);
  drawPath(context, view, points.map((point) => point.x));
}
