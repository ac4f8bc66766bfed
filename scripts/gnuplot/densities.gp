# Blockwise spectral densities, one panel per model, log-scaled density axis
# (the paper's Figures 1 and 3 style).
#
#   gnuplot -e "in='densities.csv'; out='fig.png'; models='m1 m2'" scripts/gnuplot/densities.gp
#
# Optional: cols (panels per row; default all in one row), panel='W,H' in
# pixels (default 820,520), ylabel, keyinside (any value: legend inside the panel).
#
# `in` is `slq-density --format csv` output (model,block,x,density). Blocks
# of each model are found by gnuplot itself: every distinct block name in
# column 2 gets its own curve.
if (!exists("in")) in = 'densities.csv'
if (!exists("out")) out = 'densities.png'
if (!exists("models")) models = ''
if (!exists("xlabel")) xlabel = 'eigenvalue'
set datafile separator ','
if (!exists("cols")) cols = words(models)
if (!exists("panel")) panel = '820,520'
if (!exists("ylabel")) ylabel = 'density'
rows = (words(models) + cols - 1) / cols
pw = int(word(system(sprintf("echo '%s' | tr ',' ' '", panel)), 1))
ph = int(word(system(sprintf("echo '%s' | tr ',' ' '", panel)), 2))
set terminal pngcairo size pw*cols,ph*rows enhanced font ',10'
set output out
set logscale y
set format y '10^{%L}'
set yrange [1e-8:*]
set ylabel ylabel
set xlabel xlabel
if (exists("keyinside")) { set key inside right top font ',7' } else { set key outside right top font ',7' }
set multiplot layout rows, cols
do for [m in models] {
    # block names of model m, in input order
    blocks = system(sprintf("awk -F, 'NR>1 && $1==\"%s\" && !s[$2]++ {printf \"%%s \", $2}' %s", m, in))
    set title m noenhanced
    # x undefined too off the model, so each panel's x range is its own model's
    plot for [b in blocks] in using ((strcol(1) eq m && strcol(2) eq b) ? $3 : 1/0):((strcol(1) eq m && strcol(2) eq b) ? $4 : 1/0) with lines lw 1.5 title system(sprintf("echo '%s' | sed 's/^transformer\\.//; s/\\.weight$//'", b)) noenhanced
}
unset multiplot
