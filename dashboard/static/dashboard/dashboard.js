/* The dashboard's charts, from the figures the page carries in json_script (dashboard-data) and their
   translated names (dashboard-labels). Apache ECharts, served from this site (vendor/). */
(function () {
    "use strict";
    var data = JSON.parse(document.getElementById("dashboard-data").textContent);
    var labels = JSON.parse(document.getElementById("dashboard-labels").textContent);
    var charts = [];
    var font = {fontFamily: "'PingFang SC', 'Microsoft YaHei', 'WenQuanYi Micro Hei', 'Noto Sans CJK SC', sans-serif"};

    function chart(id, option) {
        var element = document.getElementById(id);
        if (!element) {
            return;
        }
        var instance = echarts.init(element, null, {locale: "ZH"});
        option.textStyle = font;
        option.tooltip = {trigger: "axis"};
        option.grid = {left: 56, right: 56, top: 56, bottom: 32};
        instance.setOption(option);
        charts.push(instance);
    }

    var dates = data.days.map(function (day) { return day.date.slice(5); });
    var series = [];
    var axes = [];
    if (data.today) {
        axes.push({type: "value", name: labels.orders, minInterval: 1});
        series.push({name: labels.orders, type: "bar", data: data.days.map(function (day) { return day.orders; })});
        axes.push({type: "value", name: labels.amount});
        series.push({name: labels.amount, type: "line", yAxisIndex: 1, data: data.days.map(function (day) { return day.amount; })});
    }
    if (data.money) {
        if (!axes.length) {
            axes.push({type: "value", name: labels.recharges});
        } else if (axes.length < 2) {
            axes.push({type: "value", name: labels.amount});
        }
        series.push({name: labels.recharges, type: "line", yAxisIndex: axes.length - 1,
                     data: data.days.map(function (day) { return day.recharges; })});
    }
    if (series.length) {
        chart("chart-days", {
            title: {text: labels.days, textStyle: {fontSize: 14}},
            legend: {top: 4, right: 8},
            xAxis: {type: "category", data: dates},
            yAxis: axes,
            series: series
        });
    }
    if (data.hours) {
        chart("chart-hours", {
            title: {text: labels.hours, textStyle: {fontSize: 14}},
            xAxis: {type: "category", data: data.hours.map(function (hour) { return hour.hour.slice(11, 13) + ":00"; })},
            yAxis: {type: "value", name: labels.orders, minInterval: 1},
            series: [{name: labels.orders, type: "bar", data: data.hours.map(function (hour) { return hour.orders; })}]
        });
    }
    window.addEventListener("resize", function () {
        charts.forEach(function (instance) { instance.resize(); });
    });
}());
