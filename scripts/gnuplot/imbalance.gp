# make imbalance: against the class-frequency exponent S, per base
# configuration: the SGD-AdamW gap (90% t interval over paired seeds) and
# predictors at initialization (90% bootstrap intervals).
#
#   gnuplot -e "in='out/imbalance/imbalance.csv'; out='out/imbalance/imbalance.png'" scripts/gnuplot/imbalance.gp
#
# Columns of imbalance.csv (scripts/mechanism/imbalance-report): 1 base,
# 2 S, 4-6 gap, 11-13 js0_absolute, 14-16 js0_scale_free, 17-19
# curvature_range, 23-25 class_tail.
if (!exists("out")) out = 'imbalance.png'
set datafile separator ','
set terminal pngcairo size 1400,1000 enhanced font ',10'
set output out
bases = system("awk -F, 'NR > 1 && !seen[$1]++ { printf \"%s \", $1 }' ".in)
nb = words(bases)
# The S of a row of base b (else undefined), each base a little apart.
s(b) = strcol(1) eq word(bases, b) ? column(2) + 0.04 * (b - (nb + 1) / 2.0) : 1/0
set xlabel 'S (class k kept in proportion to (k+1)^{-S})'
set grid
set key top left
set offsets 0.2, 0.2, 0, 0
set multiplot layout 2, 2 title 'Imbalanced classes (docs/mechanism.md)'
panel(c) = c == 4 ? 'SGD - AdamW final held-out loss' : c == 11 ? 'JS0 at init, absolute width' : \
  c == 14 ? 'JS0 at init, eigenvalues / 10th largest' : 'class tail (share of targets in the rarest half)'
do for [c in "4 11 14 23"] {
    set ylabel panel(int(c)) noenhanced
    plot for [b=1:nb] in using (s(b)):int(c):int(c)+1:int(c)+2 with yerrorlines pt 7 lc b title word(bases, b) noenhanced
}
unset multiplot
