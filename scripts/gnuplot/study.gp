# make study: every predictor at initialization (x, bootstrap 90% interval)
# against the SGD-AdamW gap (y, 90% t interval over seeds), one panel per
# predictor, one colour per model family, each point labelled.
#
#   gnuplot -e "in='out/study/points.csv'; out='out/study/predictors.png'" scripts/gnuplot/study.gp
#
# Rows (gap-study associate --points): model,family,predictor,value,value_lo,
# value_hi,target,target_lo,target_hi, after a header.
if (!exists("out")) out = 'predictors.png'
set datafile separator ','
set terminal pngcairo size 1800,1200 enhanced font ',10'
set output out
predictors = system("awk -F, 'NR > 1 && !seen[$3]++ { printf \"%s \", $3 }' ".in)
families = system("awk -F, 'NR > 1 && !seen[$2]++ { printf \"%s \", $2 }' ".in)
n = words(predictors)
# Column c of a row of predictor p and family f (any family when f is ''), else undefined.
sel(p, f, c) = (strcol(3) eq p && (f eq '' || strcol(2) eq f)) ? column(c) : 1/0
set multiplot layout 3, int((n + 2) / 3) title 'SGD - AdamW final held-out loss (y) against each predictor at initialization (x)'
set grid
set key top left font ',8'
set ylabel 'gap (90% interval over seeds)'
do for [i=1:n] {
    p = word(predictors, i)
    set xlabel p noenhanced
    # Every column of a row of another predictor or family is undefined, so
    # that autoscaling sees only this panel's points and intervals.
    plot for [f=1:words(families)] in using \
            (sel(p, word(families, f), 4)):(sel(p, word(families, f), 7)):(sel(p, word(families, f), 5)): \
            (sel(p, word(families, f), 6)):(sel(p, word(families, f), 8)):(sel(p, word(families, f), 9)) \
            with xyerrorbars pt 7 ps 0.8 lc f title word(families, f) noenhanced, \
         in using (sel(p, '', 4)):(sel(p, '', 7)):1 with labels left offset 0.4,0.3 font ',6' noenhanced notitle
}
unset multiplot
